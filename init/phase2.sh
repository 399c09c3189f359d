#!/bin/sh
# Phase 2: make the base image into one hostclass; runs init/<hostclass>.sh when it exists.
# Called by the bake as: phase2.sh <hostclass> <repo ip or #None> <bake id>
set -eu
hostclass=$1
here=$(dirname "$0")
mkdir -p /opt/sila/etc
echo "$hostclass" > /opt/sila/etc/hostclass
echo "phase2 $hostclass $3" >> /opt/sila/etc/bake.log
if [ -x "$here/$hostclass.sh" ]; then
    "$here/$hostclass.sh"
fi
