"""rtnetlink messages made by pyroute2 (the oracle the decoders are checked against)."""


def encoded(cls, msg_type, fields, attrs):
    """The bytes pyroute2's `cls` (ifaddrmsg, ifinfmsg, ...) encodes for a message
    of `msg_type` with `fields` and `attrs` ([[name, value], ...])."""
    msg = cls()
    msg["header"]["type"] = msg_type
    for key, value in fields.items():
        msg[key] = value
    msg["attrs"] = attrs
    msg.encode()
    return bytes(msg.data)


def roundtrip(cls, msg_type, fields, attrs):
    """That message encoded, then decoded again by pyroute2."""
    out = cls(encoded(cls, msg_type, fields, attrs))
    out.decode()
    return out
