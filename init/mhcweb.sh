#!/bin/sh
# Hostclass script for mhcweb, run at the end of phase 2.
set -eu
echo "web" > /opt/sila/etc/role
