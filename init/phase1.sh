#!/bin/sh
# Phase 1: turn an upstream image into the common base every hostclass starts from.
# Called by the bake as: phase1.sh <hostclass> <repo ip or #None> <bake id>
set -eu
hostclass=$1
mkdir -p /opt/sila/etc
echo "$hostclass" > /opt/sila/etc/hostclass
echo "phase1 $hostclass $3" >> /opt/sila/etc/bake.log
