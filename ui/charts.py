"""Charts of trainings' per-epoch curves (Altair). A module of its own: Altair costs 0.12 s to import,
which the first page does without (it draws no such chart)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from mnist_core import views


def chart_runs(rows: list[dict]) -> None:
    """Several trainings' per-epoch curves in one chart: a colour per run (named by its settings), solid for
    the test set and dashed for the training data; accuracy and loss side by side."""
    chart = alt.Chart(pd.DataFrame(rows)).mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=alt.Color("run:N", title="run", scale=alt.Scale(scheme="category10"),
                        legend=alt.Legend(orient="bottom", columns=1, labelLimit=500)),
        strokeDash=alt.StrokeDash("data:N", title="measured on", legend=alt.Legend(orient="bottom", symbolType="stroke")),
    ).properties(height=240, width=320)
    st.altair_chart(chart.facet(column=alt.Column("metric:N", title=None)).resolve_scale(y="independent"))


def chart_history(history: dict, height: int = 220, only: str | None = None):
    """Per-epoch curves, training against test; one panel per metric, or just the metric `only`."""
    rows = pd.DataFrame(views.history_rows(history))
    if rows.empty:
        return
    if only:
        rows = rows[rows["metric"] == only]
    chart = alt.Chart(rows).mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title=only, scale=alt.Scale(zero=False)),
        color=alt.Color("data:N", title=None, legend=alt.Legend(orient="bottom")),
    ).properties(height=height)
    if not only:
        chart = chart.facet(column=alt.Column("metric:N", title=None)).resolve_scale(y="independent")
    st.altair_chart(chart)
