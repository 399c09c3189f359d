#!/usr/bin/env python3
"""Sila's local AWS emulator: moto's server behind a small WSGI middleware.

moto has no fault or latency injection and no request counting (see shared/reference/moto-notes.md),
so this wraps moto's own WSGI app and adds, under /_sila/:

  GET    /_sila/health     liveness
  GET    /_sila/requests   {"counts": {"ec2:DescribeVpcs": 3, ...}, "log": [{service, action, params, fault}]}
  POST   /_sila/reset      forget counts, log and fault rules (moto's state is reset with /moto-api/reset)
  POST   /_sila/requests/reset  forget counts and log only (e.g. after a test's own setup calls)
  POST   /_sila/faults     {"seed": 1, "rules": [RULE, ...]} replaces the fault rules
  DELETE /_sila/faults     removes them

A RULE is a JSON object; every key is optional:
  service   glob on the signing service name ("ec2", "iam", "autoscaling", ...)       default "*"
  action    glob on the API action ("CreateVpc", "Create*", ...)                      default "*"
  mutating  true: only actions that do not start with Describe/List/Get; false: only those
  delay_ms  latency added to each matching request
  error     error code to answer with (e.g. "RequestLimitExceeded", "Throttling")
  status    HTTP status of the error (default 400, or 503 when no error code is given)
  probability  chance that a matching request gets the error (default 1.0; seeded RNG)
  after     let this many matching requests through before the error fires
  times     fire the error at most this many times
  lost      true: carry the request out, then answer with the error instead (an answer lost on the
            way back, so the client's retry finds the work done)

It listens on loopback only and, with --parent-pid, exits when that process is gone, so a test binary
that dies never leaves a server behind.
"""

import argparse
import fnmatch
import io
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs

# Certificates ACM is asked for are issued at once (moto keeps them pending for 60 s by default,
# read when moto is imported), so tests of HTTPS listeners need no wait.
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([^/]+)/aws4_request")
# REST services (Route 53, S3) have no action name: their requests are logged as "METHOD /path",
# and a GET or HEAD changes nothing.
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "GET ", "HEAD ")
LOOPBACK_HOSTS = ("127.", "localhost", "::1")


class Faults:
    """Request log and fault rules, shared by the server's threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.counts = {}
        self.log = []
        self.rules = []
        self.rng = random.Random(0)

    def set_rules(self, rules, seed):
        self.rules = [dict(rule, _matched=0, _fired=0) for rule in rules]
        self.rng = random.Random(seed)

    def decide(self, service, action):
        """Returns (delay in seconds, (code, status) or None) for one request."""
        delay, error = 0.0, None
        mutating = not action.startswith(READ_ONLY_PREFIXES)
        for rule in self.rules:
            if not fnmatch.fnmatchcase(service, rule.get("service", "*")):
                continue
            if not fnmatch.fnmatchcase(action, rule.get("action", "*")):
                continue
            if rule.get("mutating") is not None and rule["mutating"] != mutating:
                continue
            rule["_matched"] += 1
            delay += rule.get("delay_ms", 0) / 1000.0
            code, status = rule.get("error"), rule.get("status")
            if error is not None or (code is None and status is None):
                continue
            if rule["_matched"] <= rule.get("after", 0):
                continue
            if rule.get("times") is not None and rule["_fired"] >= rule["times"]:
                continue
            if self.rng.random() >= rule.get("probability", 1.0):
                continue
            rule["_fired"] += 1
            if code is None:
                code = "ServiceUnavailable"
            error = (code, status or (503 if code == "ServiceUnavailable" else 400), bool(rule.get("lost")))
        return delay, error


def identify(environ, body):
    """(service, action, parameter names) of an AWS request, for any of the SDK's protocols."""
    match = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = match.group(1) if match else "unknown"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        try:
            params = sorted(json.loads(body or b"{}").keys())
        except ValueError:
            params = []
        return service, target.rsplit(".", 1)[-1], params
    form = {}
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if not form.get("Action"):
        form.update(parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if form.get("Action"):
        return service, form["Action"][0], sorted(k for k in form if k not in ("Action", "Version"))
    return service, "%s %s" % (environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")), []


def error_response(start_response, service, is_json, code, status, message):
    request_id = str(uuid.uuid4())
    if is_json:
        body = json.dumps({"__type": code, "message": message})
        content_type = "application/x-amz-json-1.1"
    elif service == "ec2":
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>%s</Code>"
                "<Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>"
                % (code, message, request_id))
        content_type = "text/xml"
    else:
        body = ("<?xml version=\"1.0\"?><ErrorResponse><Error><Type>Sender</Type><Code>%s</Code>"
                "<Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>"
                % (code, message, request_id))
        content_type = "text/xml"
    data = body.encode("utf-8")
    start_response("%d Injected" % status, [("Content-Type", content_type), ("Content-Length", str(len(data))),
                                             ("x-amzn-RequestId", request_id)])
    return [data]


def json_response(start_response, payload, status="200 OK"):
    data = json.dumps(payload).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class SilaMiddleware:
    def __init__(self, app):
        self.app = app
        self.faults = Faults()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sila/"):
            return self.control(environ, start_response, path)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path.startswith("/moto-api/"):
            return self.app(environ, start_response)
        service, action, params = identify(environ, body)
        with self.faults.lock:
            delay, error = self.faults.decide(service, action)
            key = "%s:%s" % (service, action)
            self.faults.counts[key] = self.faults.counts.get(key, 0) + 1
            self.faults.log.append({"service": service, "action": action, "params": params,
                                    "fault": error[0] if error else None})
        if delay:
            time.sleep(delay)
        if error:
            json_protocol = bool(environ.get("HTTP_X_AMZ_TARGET"))
            if error[2]:
                # Carried out, answer dropped: run moto's app to the end, then answer with the error.
                answer = self.app(environ, lambda *args, **kwargs: None)
                b"".join(answer)
            return error_response(start_response, service, json_protocol,
                                  error[0], error[1], "injected by the Sila test emulator")
        return self.app(environ, start_response)

    def control(self, environ, start_response, path):
        method = environ.get("REQUEST_METHOD", "GET")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        with self.faults.lock:
            if path == "/_sila/health":
                return json_response(start_response, {"ok": True})
            if path == "/_sila/requests" and method == "GET":
                return json_response(start_response, {"counts": self.faults.counts, "log": self.faults.log})
            if path == "/_sila/requests/reset" and method == "POST":
                self.faults.counts, self.faults.log = {}, []
                return json_response(start_response, {"ok": True})
            if path == "/_sila/reset" and method == "POST":
                self.faults.reset()
                return json_response(start_response, {"ok": True})
            if path == "/_sila/faults" and method == "POST":
                try:
                    spec = json.loads(body or b"{}")
                    self.faults.set_rules(list(spec.get("rules", [])), spec.get("seed", 0))
                except (ValueError, TypeError, AttributeError) as e:
                    return json_response(start_response, {"error": str(e)}, "400 Bad Request")
                return json_response(start_response, {"ok": True, "rules": len(self.faults.rules)})
            if path == "/_sila/faults" and method == "DELETE":
                self.faults.rules = []
                return json_response(start_response, {"ok": True})
        return json_response(start_response, {"error": "no such control endpoint"}, "404 Not Found")


def watch_parent(pid):
    while True:
        time.sleep(1)
        try:
            os.kill(pid, 0)
        except OSError:
            os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    args = parser.parse_args()
    if not args.host.startswith(LOOPBACK_HOSTS):
        sys.exit("sila_emulator: refusing to listen on %s: loopback addresses only" % args.host)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid,), daemon=True).start()
    patch_moto()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, SilaMiddleware(app), threaded=True, request_handler=MotoRequestHandler)


def patch_moto():
    """Test-only fixes of moto 5.2.5 bugs that would make correct AWS usage fail (listed in README).

    A launch template version made by CreateLaunchTemplateVersion keeps its UserData as a plain
    string, and moto asserts it is a Base64EncodedString when an autoscaling group launches from it
    (HTTP 500 on any scale-up after a second version). AWS has no such problem.

    moto keeps scaling policies by name alone, so group B's policy `up` replaces group A's. On AWS a
    policy name is unique per group. Keyed by (group, name) here.
    """
    from moto.core.types import Base64EncodedString
    from moto.ec2.models import launch_templates
    from moto.autoscaling import models as autoscaling

    put_policy = autoscaling.AutoScalingBackend.put_scaling_policy

    def put_scaling_policy(self, name, *args, **kwargs):
        policy = put_policy(self, name, *args, **kwargs)
        del self.policies[name]
        self.policies[(policy.auto_scaling_group_name, name)] = policy
        return policy

    autoscaling.AutoScalingBackend.put_scaling_policy = put_scaling_policy

    def user_data(self):
        data = self.data.get("UserData")
        if isinstance(data, str):
            data = Base64EncodedString(data)
        return data

    launch_templates.LaunchTemplateVersion.user_data = property(user_data)


if __name__ == "__main__":
    main()
