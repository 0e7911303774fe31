from __future__ import annotations

from edge.tablet.session import CsrfCodec, Session, SessionCodec, Signer


def test_signer_rejects_tampering_and_other_keys() -> None:
    signer = Signer(b"k" * 32, purpose="session")
    token = signer.sign(b"hello")
    assert signer.unsign(token) == b"hello"
    data, mac = token.split(".")
    assert signer.unsign(data[:-1] + ("A" if data[-1] != "A" else "B") + "." + mac) is None
    assert signer.unsign("garbage") is None and signer.unsign("a.b.c") is None
    assert Signer(b"x" * 32, purpose="session").unsign(token) is None
    assert Signer(b"k" * 32, purpose="csrf").unsign(token) is None


def test_session_idle_timeout() -> None:
    codec = SessionCodec(b"s" * 32, idle_timeout_s=300)
    token = codec.encode(Session("op-1", "Zoé", 1000.0))
    assert codec.decode(token, now_s=1299.0) == Session("op-1", "Zoé", 1000.0)
    assert codec.decode(token, now_s=1301.0) is None
    assert codec.decode(token, now_s=900.0) is None  # from the future: refused
    assert codec.decode(None, now_s=1000.0) is None
    assert codec.decode(token + "x", now_s=1000.0) is None


def test_csrf_double_submit() -> None:
    csrf = CsrfCodec(b"c" * 32)
    token = csrf.new_token()
    assert csrf.valid(token) and csrf.matches(token, token)
    assert not csrf.matches(token, csrf.new_token())
    assert not csrf.matches(None, token) and not csrf.matches(token, None)
    forged = "AAAA.BBBB"
    assert not csrf.matches(forged, forged)
    assert not CsrfCodec(b"d" * 32).valid(token)
