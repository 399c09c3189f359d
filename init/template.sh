#!/bin/sh
# Hostclass script for $TEMPLATED_HOSTCLASS ($TEMPLATED_NAME), run at the end of phase 2.
set -eu
echo "$TEMPLATED_NAME" > /opt/sila/etc/role
