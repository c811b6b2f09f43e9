"""Where it fails: the confusion matrix, accuracy per digit, the misread test digits, and whose real handwriting
it misreads."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from mnist_core import views
from mnist_core.evaluate import confusion_rows

from .state import data, handwriting_mistakes, model_key, test_set_report


def failures_tab(result):
    _, (x_test, _) = data()
    report = test_set_report(model_key(result), result.model)
    st.subheader(f"{len(report['mistakes'])} of 10,000 test digits misread ({report['accuracy']:.2%} right)")
    left, right = st.columns([1.2, 1])
    with left:
        heat = alt.Chart(pd.DataFrame(confusion_rows(report["matrix"]))).encode(
            x=alt.X("predicted:N", title="predicted digit", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("true:N", title="true digit"))
        cells = heat.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"),
                                                        legend=None), tooltip=["true", "predicted", "count"])
        labels = heat.mark_text(fontSize=11).encode(
            text="count:Q", color=alt.condition(alt.datum.count > 300, alt.value("white"), alt.value("black")))
        st.markdown("**Confusion matrix** (rows: the true digit; columns: what the network said)")
        st.altair_chart((cells + labels).properties(height=380))
    with right:
        st.markdown("**Accuracy per digit** (the bars run from 90% to 100%, where the differences are)")
        st.dataframe(pd.DataFrame({"digit": [str(d) for d in range(10)],
                                   "accuracy": report["per_digit"]}),
                     column_config={"accuracy": st.column_config.ProgressColumn(
                         "accuracy", format="percent", min_value=0.9, max_value=1.0)},
                     hide_index=True, height=390)
    st.markdown("**Misread test digits**, most confident mistakes first")
    f1, f2, _ = st.columns([1, 1, 2])
    any_digit = ["any"] + [str(d) for d in range(10)]
    true_filter = f1.selectbox("Filter: true digit", any_digit, key="filter_true")
    pred_filter = f2.selectbox("Filter: predicted digit", any_digit, key="filter_pred")
    shown = [m for m in report["mistakes"] if true_filter in ("any", str(m["true"]))
             and pred_filter in ("any", str(m["predicted"]))]
    if not shown:
        st.caption("No mistakes of that kind.")
    cols = st.columns(10)
    for i, m in enumerate(shown[:30]):
        cols[i % 10].image(views.pixel_view(x_test[m["index"]], 3),
                           caption=f"{m['true']} read as {m['predicted']} ({m['confidence']:.0%})")

    real_handwriting(result)


WRITERS_SHOWN, EACH_SHOWN = 8, 10  # the writers with most mistakes, and that many of each one's


def real_handwriting(result):
    """The test writers' drawings the model misreads, by writer: the mistakes are people's ways of writing."""
    report = handwriting_mistakes(model_key(result), result.model)
    by_writer = report["by_writer"]
    wrong = sum(len(v) for v in by_writer.values())
    st.subheader(f"Real handwriting: {wrong} of {report['drawings']:,} drawings by the {report['writers']} test "
                 "writers misread")
    about = ("The people whose pen-written digits never trained a model and chose no setting (see *The data*), "
             "drawn on this page's canvas and read the way it reads yours.")
    if not by_writer:
        st.caption(f"{about} This model reads every one of them right.")
        return
    top = list(by_writer.items())[:WRITERS_SHOWN]
    st.caption(f"{about} {len(by_writer)} of the {report['writers']} people make these mistakes, and the "
               f"{min(3, len(top))} with the most make {sum(len(v) for _, v in top[:3])}. Where one person's mistakes "
               "repeat, it is their way of writing a digit: *Learn my handwriting* (under *Draw a digit*) is for that.")
    for k, (writer, drawings) in enumerate(top, 1):  # "set/writer": the page names the set, not the person
        more = f" (the first {EACH_SHOWN} shown)" if len(drawings) > EACH_SHOWN else ""
        st.markdown(f"**Writer {k}** (UNIPEN set {writer.split('/')[0]}): {len(drawings)} misread{more}")
        cols = st.columns(EACH_SHOWN)
        for col, (image, right, shown) in zip(cols, drawings):
            col.image(views.pixel_view(image, 2),
                      caption=f"{right} read as {shown}" if shown != "split" else f"{right} read as several digits")
    if len(by_writer) > WRITERS_SHOWN:
        st.caption(f"And {len(by_writer) - WRITERS_SHOWN} more people, with fewer mistakes each.")
