"""Where it fails: the confusion matrix, accuracy per digit and the misread test digits."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from mnist_core import views
from mnist_core.evaluate import confusion_rows

from .state import data, model_key, test_set_report


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
