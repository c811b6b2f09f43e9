"""Training and testing: this model's figures, overfitting, and the per-epoch curves."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_core import views
from mnist_core.cache import bundle, cache_key, cached_results
from mnist_core.user_drawings import Drawings, DrawingsError

from .identity import my_drawings
from .charts import chart_history, chart_runs
from .state import model_key, my_trainings, use_model


# How the tables of runs show their figures (views.trainings_rows and views.class_rows); a figure a run does
# not have (an adapted model's gap, a real-handwriting figure from before it was measured) shows as "–".
RUN_COLUMNS = {**{k: st.column_config.NumberColumn(format="percent")
                  for k in ("test accuracy", "real handwriting", "your drawings")},
               "gap": st.column_config.NumberColumn("gap (training − test)", format="percent"),
               "seconds": st.column_config.NumberColumn(format="%.0f")}


@st.cache_data(show_spinner=False, max_entries=4)
def _bundle(key: str, _result) -> bytes:
    return bundle(_result)


def training_tab(result):
    st.subheader("Training and testing")
    c = result.config
    adapted = views.adapted_line(result)
    st.markdown(adapted or f"This model: **{views.describe_config(c)}**, trained in {result.seconds:.0f} s "
                f"(`model.fit(train_images, train_labels, epochs={c.epochs}, batch_size={c.batch_size})`). "
                "Change the settings and press **Train** in the sidebar.")
    st.download_button("Download this model (.zip)", _bundle(model_key(result), result),
                       file_name="mnist-draw-model.zip",
                       help="model.keras (keras.saving.load_model(path, safe_mode=True) after `import mnist_core`) "
                            "and model.json (its settings and test figures). `python -m mnist_core evaluate "
                            "--model-file mnist-draw-model.zip` measures it.")
    a, b, c2 = st.columns(3)
    a.metric("Test accuracy", f"{result.test_accuracy:.2%}")
    b.metric("Test loss", f"{result.test_loss:.4f}")
    gap = views.gap(result)  # None for an adapted model: its training figures are its base's
    if gap is None:
        before = result.extra["adapted"]["base_test_accuracy"]
        c2.metric("Test accuracy before adapting", f"{before:.2%}",
                  f"{(result.test_accuracy - before) * 100:+.2f} points after", delta_color="off", delta_arrow="off")
    else:
        c2.metric("Training accuracy (last epoch)", f"{result.train_accuracy:.2%}",
                  f"{gap:+.2%} vs test", delta_color="off", delta_arrow="off")
        if gap > 0:
            st.markdown(f"**Overfitting.** The network does {gap * 100:.2f} percentage points better on the images "
                        "it trained on than on the test images it never saw. It has learned some quirks of its "
                        "training set that do not carry over to new handwriting. More epochs widen the gap; "
                        "dropout and augmentation narrow it.")
        else:
            st.markdown(f"**No overfitting gap here:** {views.no_gap_reason(c)}")
    gap_numbers = views.overfitting_gap(result.history)
    if gap_numbers:
        st.markdown(f"**Overfitting in numbers{' (the model it was adapted from)' if adapted else ''}.** Training "
                    f"accuracy minus test accuracy: {gap_numbers['first'] * 100:+.2f} percentage points after "
                    f"epoch 1, {gap_numbers['last'] * 100:+.2f} after epoch {gap_numbers['epochs']}. The training "
                    f"loss is {gap_numbers['train_loss']:.4f}, the test loss {gap_numbers['test_loss']:.4f}. (Keras "
                    "averages an epoch's training accuracy while the weights are still changing, so early on it "
                    "trails the test accuracy.) Train with more epochs and watch the lines part.")
    st.markdown("**Loss and accuracy per epoch**, on the training data and on the test set (measured after every "
                "epoch, never used to steer training)")
    chart_history(result.history)
    your_trainings(result)
    class_findings()


def your_trainings(result):
    """Every model this person trained or adapted, side by side: a table, up to four runs' curves in one
    chart, what one changed setting did, and a click to use any of them."""
    st.markdown("#### Your trainings")
    runs, notes = my_trainings()
    for note in notes:
        st.caption(note)
    if not runs:
        st.caption("Each model you train (or adapt to your handwriting) joins this list, kept for your next visit, "
                   "so that you can compare them side by side.")
        return
    try:
        _, dx, dy = my_drawings().arrays()
    except DrawingsError:
        dx = dy = None
    names = _unique([views.run_name(c) for c, _ in runs])
    rows = views.trainings_rows([r for _, r in runs], None if dy is None else (dx, dy))
    for name, row, (config, _) in zip(names, rows, runs):
        row["run"] = name
        row["in use"] = "✓" if config == result.config else ""
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config=RUN_COLUMNS, placeholder="–")
    chosen = st.multiselect("Compare (up to four)", names, max_selections=4, key="compare",
                            help="Their training and test curves in one chart.")
    picked = [runs[names.index(n)] for n in chosen]
    if picked:
        chart_runs(views.overlay_rows([r for _, r in picked]))
    if len(picked) == 2:
        sentence = views.comparison(picked[0][1], picked[1][1])
        st.markdown(f"**What changed:** {sentence}" if sentence else
                    "These two differ in more than one setting (or in none), so no single setting explains the "
                    "difference: compare runs that differ in one.")
    a, b = st.columns(2)
    one = st.selectbox("A training", names, index=len(names) - 1, key="run_action")
    config = runs[names.index(one)][0]
    if a.button("Use this model", disabled=config == result.config):
        use_model(config)
        st.rerun()
    if b.button("Remove from my list"):
        my_drawings().remove_training(cache_key(config))
        st.rerun()


def _unique(names: list[str]) -> list[str]:
    """Names made distinct where two runs share their settings' words (two adaptations, say): "…", "… (2)"."""
    out = []
    for name in names:
        out.append(name if name not in out else f"{name} ({sum(o.split(' (')[0] == name for o in out) + 1})")
    return out


def class_findings():
    """Every training on this server, from the cache: best first, how many people have it, no names."""
    with st.expander("What the class found: every training on this server, best first"):
        results, skipped = cached_results()
        try:
            people = Drawings().people_per_training()
        except DrawingsError:
            people = {}
        rows = views.class_rows(results, people, cache_key)
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, column_config=RUN_COLUMNS, placeholder="–")
        else:
            st.caption("No trainings on this server yet.")
        if skipped:
            st.caption(f"{len(skipped)} damaged cache entr{'y' if len(skipped) == 1 else 'ies'} left out.")
