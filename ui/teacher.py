"""The teacher's tab (with the server's token): the class's drawings counted, reviewed and removed; the
training queue; exports. Shown only where the server has a token."""

from __future__ import annotations

import datetime

import pandas as pd
import streamlit as st

from mnist_core import views
from mnist_core.jobs import overview
from mnist_core.user_drawings import Drawings, DrawingsError, to_npz

from .identity import is_teacher

GALLERY = 60  # drawings shown at once, newest first


def teacher_tab(result):
    st.subheader("Teacher")
    st.text_input("Teacher token", type="password", key="teacher_token",
                  help="The value of MNIST_DRAW_TEACHER_TOKEN on the server.")
    if not st.session_state.get("teacher_token"):
        st.caption("Type the server's token to see the whole class: counts, the drawings, the training queue.")
        return
    if not is_teacher():
        st.error("That is not this server's teacher token.")
        return
    try:
        everyone = Drawings()
        catalogue = everyone.catalogue()
    except DrawingsError as e:
        st.warning(f"The drawings are unavailable: {e}")
        return
    counts = views.class_counts(catalogue)
    n, m = len(catalogue), len(counts["people"])
    st.markdown(f"**{n} drawing{'' if n == 1 else 's'} by {m} {'person' if m == 1 else 'people'}** (each browser "
                "counts as one person; they are named here by a code, not by their browser's id).")
    people = pd.DataFrame(counts["people"])
    if not people.empty:
        people["last"] = [datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") for t in people["last"]]
        st.dataframe(people, hide_index=True)
        st.bar_chart(pd.DataFrame(counts["digits"]), x="digit", y="drawings", height=180)
    _gallery(everyone, catalogue)
    st.markdown("#### The training queue")
    queue = overview()
    if queue:
        st.dataframe(pd.DataFrame(queue), hide_index=True,
                     column_config={"waited": st.column_config.NumberColumn("waited, s", format="%.0f")})
    else:
        st.caption("No trainings since the server started.")
    st.markdown("#### Exports")
    _, x, y = everyone.arrays()
    a, b = st.columns(2)
    a.download_button("Export the class's drawings (.npz)", to_npz(x, y), file_name="class-drawings.npz",
                      disabled=not len(y), help="x: (n, 28, 28) uint8 and y: (n,) uint8, shaped like load_mnist's.")
    b.download_button("Export the list of drawings (.csv)", views.catalogue_csv(catalogue),
                      file_name="class-drawings.csv", disabled=not catalogue,
                      help="One row a drawing: id, person (their code), label, predicted digit, when.")


def _gallery(everyone: Drawings, catalogue: list[dict]) -> None:
    """One person's drawings (or everyone's) with their labels, to spot junk or wrong labels and remove them."""
    st.markdown("#### The drawings")
    codes = {r["owner"]: views.anonymous(r["owner"]) for r in catalogue}
    whose = st.selectbox("Whose", ["everyone"] + sorted(set(codes.values())), key="gallery_whose")
    shown = [r for r in catalogue if whose == "everyone" or codes[r["owner"]] == whose][::-1][:GALLERY]
    if not shown:
        st.caption("No drawings yet.")
        return
    ids, x, _ = everyone.arrays()
    at = {int(i): k for k, i in enumerate(ids)}
    st.image([views.pixel_view(x[at[r["id"]]], 3) for r in shown],
             caption=[f"#{r['id']}: {r['label']}" + (f" (read {r['predicted']})" if r["predicted"] not in
                                                      (None, r["label"]) else "") for r in shown], width=84)
    a, b = st.columns(2)
    gone = a.selectbox("Drawing to remove", [f"#{r['id']}: {r['label']}, {codes[r['owner']]}" for r in shown],
                       key="gallery_remove")
    if a.button("Remove this drawing"):
        everyone.delete([int(gone.split(":")[0][1:])])
        st.rerun()
    if whose != "everyone" and b.button(f"Remove all of {whose}'s drawings"):
        owner = next(o for o, c in codes.items() if c == whose)
        Drawings(owner=owner).delete()
        st.rerun()
