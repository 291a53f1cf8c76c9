#!/bin/sh
# Checks a Tickler webhook delivery with openssl:
#   verify.sh SECRET 'TICKLER-SIGNATURE HEADER' BODY-FILE
# exits 0 if the signature matches and is at most 300 s old, 1 otherwise.
set -eu
secret=$1 header=$2 body=$3
timestamp=$(printf '%s' "$header" | tr ',' '\n' | sed -n 's/^ *t=//p')
case $timestamp in '' | *[!0-9]*) echo "no timestamp in the header" >&2; exit 1 ;; esac
age=$(( $(date +%s) - timestamp ))
if [ "$age" -gt 300 ] || [ "$age" -lt -300 ]; then
    echo "signed $age s ago: outside the replay window" >&2
    exit 1
fi
expected=$( { printf '%s.' "$timestamp"; cat "$body"; } \
    | openssl dgst -sha256 -hmac "$secret" | sed 's/^.*= *//')
for signature in $(printf '%s' "$header" | tr ',' '\n' | sed -n 's/^ *v1=//p'); do
    if [ "$signature" = "$expected" ]; then
        echo "signature verified"
        exit 0
    fi
done
echo "signature does not match" >&2
exit 1
