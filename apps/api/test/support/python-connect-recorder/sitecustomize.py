"""Imported by every Python process started with this directory on PYTHONPATH (the GPU node's
workers in tests): a TCP connection to an address outside this machine is recorded (one JSON line
in CONNECT_RECORD_FILE) and refused before any packet is sent, so a test of refused addresses
cannot reach a real network even if the code under test is broken. Loopback goes through."""

import ipaddress
import json
import os
import socket

_RECORD_FILE = os.environ["CONNECT_RECORD_FILE"]
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _off_machine(address) -> bool:
    if not isinstance(address, tuple) or not address:
        return False
    try:
        return not ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except ValueError:
        return str(address[0]) not in ("localhost",)


def _record(address) -> None:
    with open(_RECORD_FILE, "a", encoding="utf-8") as record:
        record.write(
            json.dumps({"host": str(address[0]), "port": address[1], "from": "python"}) + "\n"
        )


def _connect(self, address):
    if _off_machine(address):
        _record(address)
        raise ConnectionRefusedError(111, f"connect-recorder: refused {address[0]}")
    return _real_connect(self, address)


def _connect_ex(self, address):
    if _off_machine(address):
        _record(address)
        return 111
    return _real_connect_ex(self, address)


socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
