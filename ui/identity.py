"""Who is at this page: each browser's own identity, so that a class can share one server.

The identity is Streamlit's login where one is configured; else a random id kept in a cookie, so it
survives a reload and a closed tab. A teacher who types the server's token sees the whole class.
"""

from __future__ import annotations

import hmac
import os
import re
import uuid

import streamlit as st

from mnist_core.user_drawings import Drawings

COOKIE = "mnist_draw_id"
TEACHER_ENV = "MNIST_DRAW_TEACHER_TOKEN"  # set on the server to let a teacher see every drawing
_ID = re.compile(r"[0-9a-f]{32}")  # what this page writes into the cookie; anything else is ignored

# Writes the identity into the browser's cookie jar (a year; the whole site; not sent cross-site), unless
# another tab of this browser wrote one since this page loaded (two tabs on a first visit): then it
# hands that one back (state "id"), and this session takes it, so the browser keeps one identity.
_cookie_writer = st.components.v2.component("mnist_draw.identity", js="""
export default function ({ data, setStateValue }) {
  const found = document.cookie.match(/(?:^|; )mnist_draw_id=([0-9a-f]{32})/);
  if (found && found[1] !== data) { setStateValue("id", found[1]); return; }
  document.cookie = `mnist_draw_id=${data}; path=/; max-age=31536000; SameSite=Strict`;
}
""")


def _login() -> str | None:
    """The logged-in user, if the server has Streamlit's login configured and they logged in."""
    try:
        if st.user.get("is_logged_in"):
            return "user:" + str(st.user.get("email") or st.user.get("sub"))
    except Exception:  # no login configured
        pass
    return None


def who() -> str:
    """This browser's identity: its login, else its cookie's id, else a new id (remember() keeps it)."""
    if "who" not in st.session_state:
        cookie = st.context.cookies.get(COOKIE)
        known = isinstance(cookie, str) and _ID.fullmatch(cookie)
        st.session_state["who"] = _login() or (cookie if known else uuid.uuid4().hex)
    return st.session_state["who"]


def remember() -> None:
    """Put a new identity in the browser's cookie (it then comes back with every new page), or take the
    one another tab of this browser put there first."""
    if not who().startswith("user:") and st.context.cookies.get(COOKIE) != who():
        found = getattr(_cookie_writer(data=who(), key="identity-cookie", on_id_change=lambda: None), "id", None)
        if isinstance(found, str) and _ID.fullmatch(found) and found != who():
            st.session_state["who"] = found
            st.rerun()


def teacher_token() -> str:
    return os.environ.get(TEACHER_ENV, "")


def is_teacher() -> bool:
    """Whether this session typed the server's teacher token (see class_view). Compared as UTF-8 bytes:
    compare_digest refuses str with non-ASCII characters."""
    token = teacher_token()
    typed = st.session_state.get("teacher_token") or ""
    return bool(token) and hmac.compare_digest(typed.encode(), token.encode())


def my_drawings() -> Drawings:
    """This person's drawings. Rows saved before drawings had owners belong to the teacher alone (with the
    server's token): never to a browser for where it connects from, since behind a proxy or tunnel on the
    server's machine every visitor looks local (the CLI sees every drawing: export-drawings)."""
    return Drawings(owner=who(), with_unowned=is_teacher())
