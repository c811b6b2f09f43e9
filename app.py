"""MNIST Draw: the classic first neural network, explored, trained and played with.

Run with `make run` (or `streamlit run app.py`). This file only arranges widgets; everything
that computes lives in mnist_core.
"""

from __future__ import annotations

import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit_drawable_canvas import st_canvas  # noqa: E402

from mnist_core import TrainConfig, canvas_to_mnist, default_model, load_mnist, predict_proba  # noqa: E402
from mnist_core import views  # noqa: E402
from mnist_core.cache import cache_key, load_or_train  # noqa: E402
from mnist_core.drawings import Drawings, DrawingsError, accuracy_on, to_npz  # noqa: E402
from mnist_core.evaluate import confusion, confusion_rows  # noqa: E402
from mnist_core.jobs import get_job, start_training  # noqa: E402
from mnist_core.model import deskews  # noqa: E402

st.set_page_config(page_title="MNIST Draw", page_icon="✏️", layout="wide")

# Streamlit forgets the value of a widget that did not run, and a closed tab's widgets do not run
# (see the tabs below). Assigning the key on every run keeps it, as Streamlit's docs advise.
for key in ("filter_true", "filter_pred"):
    st.session_state[key] = st.session_state.get(key, "any")


@st.cache_resource(show_spinner=False)
def data():
    return load_mnist()


@st.cache_resource(show_spinner=False)
def shipped():
    return default_model()


@st.cache_resource(show_spinner="Loading the model from the cache…", max_entries=8)
def cached_model(config: TrainConfig):
    return load_or_train(config)


@st.cache_resource(show_spinner=False)
def drawings_store():
    return Drawings()  # $MNIST_DRAW_DB, else the user's data folder


@st.cache_data(show_spinner="Testing the model on 10,000 digits…", max_entries=8)
def test_set_report(key: str, _model):
    """Confusion matrix and mistakes on the MNIST test set; cached per model (by its cache key)."""
    _, (x_test, y_test) = data()
    return confusion(_model, x_test, y_test)


@st.cache_resource(show_spinner=False)
def freeze_long_lived_objects() -> int:
    """Keep garbage collection off the read-out's path; returns how many objects were frozen.

    Streamlit collects garbage after every run, fragment runs included, and again through
    keras.backend.clear_session(). TensorFlow's ~400,000 long-lived objects made each full collection
    take 70-180 ms, which stalled the Prediction after a stroke. gc.freeze() moves the objects alive
    now (modules, the data, the shipped model) out of the collector's sight, once per process.
    """
    data()  # loaded first, so that they are frozen too
    shipped()
    gc.freeze()
    return gc.get_freeze_count()


freeze_long_lived_objects()


def model_in_use():
    """The session's model: one it trained, else the shipped default."""
    config = st.session_state.get("config")
    if config is None:
        return shipped()
    job = get_job(config)
    if job is not None and job.result is not None:
        return job.result
    try:
        return cached_model(config)
    except Exception as e:  # a cache gone bad and no way to retrain: keep the page working
        st.session_state["config"] = None
        st.error(f"Could not load the trained model ({e}); using the shipped one.")
        return shipped()


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


# ---------------------------------------------------------------- sidebar: training controls
with st.sidebar:
    st.header("Train the network")
    epochs = st.number_input("Epochs", min_value=1, max_value=50, value=10, step=1,
                             help="Passes over the 60,000 training images.")
    batch_size = st.select_slider("Batch size", options=[16, 32, 64, 128, 256, 512, 1024], value=128,
                                  help="Images per weight update. Smaller: more updates, slower epochs.")
    augment = st.checkbox("Augment (reads drawings better)", value=False,
                          help="Each epoch shows every digit slanted, scaled, elastically warped and with a "
                               "thinner or bolder stroke, and some 1s with a flag (MNIST's writers rarely drew "
                               "one), so the network learns handwriting rather than MNIST's pen. Slower: about "
                               "7 s an epoch.")
    deskew = st.checkbox("Deskew: straighten slanted digits", value=False,
                         help="A first layer, with no weights, shears every digit upright before the dense layers "
                              "read it, in training and when reading your drawings: the network no longer has to "
                              "learn each digit at every slant.")
    as_drawn = st.checkbox("Half the digits as if drawn on this canvas", value=False,
                           help="Each epoch, half the training digits are shown restroked with a mouse-like "
                                "brush and read back through the same preparation as your drawings. The first "
                                "use prepares them once (about 2 minutes).")
    dropout = st.slider("Dropout", 0.0, 0.5, 0.0, 0.05,
                        help="Randomly silences hidden units while training: a brake on overfitting.")
    try:
        n_saved, fingerprint = drawings_store().count(), drawings_store().fingerprint()
    except DrawingsError:
        n_saved, fingerprint = 0, ""
    mix = st.checkbox(f"Mix in my drawings ({n_saved} saved)", value=False, disabled=n_saved == 0,
                      help="Adds your saved drawings (see Your drawings) to the training set.")
    if st.button("Train", type="primary", width="stretch"):
        config = TrainConfig(epochs=int(epochs), batch_size=int(batch_size), augment=augment, deskew=deskew,
                             dropout=dropout, as_drawn=0.5 if as_drawn else 0.0, user_drawings=fingerprint if mix else "")
        start_training(config)  # at most one job per config: a second click or tab joins the first
        st.session_state["pending"] = config  # the model in use changes only once it is trained
    if st.session_state.get("config") is not None and st.button("Use the shipped model", width="stretch"):
        st.session_state["config"] = None

    pending = st.session_state.get("pending")
    job = get_job(pending) if pending is not None else None

    @st.fragment(run_every=1.0 if job is not None and job.running else None)
    def training_progress():
        job = get_job(pending) if pending is not None else None
        if job is None:
            return
        if job.running:
            n = len(job.epochs)
            last = job.epochs[-1] if job.epochs else {}
            left = job.seconds_left()
            text = (f"Training: epoch {n}/{job.config.epochs}"
                    + (f" · loss {last['loss']:.4f} · accuracy {last['accuracy']:.4f}" if last else " · starting…")
                    + (f" · {left:.0f} s left" if left is not None else ""))
            st.progress(job.fraction, text=text)
            chart_history(job.history, 140, only="accuracy")
            st.caption("You can keep drawing meanwhile: the current model reads your digits until this one is ready.")
            return
        st.session_state["pending"] = None
        if job.error:
            st.session_state["train_error"] = job.error
        else:
            st.session_state["config"] = pending
        st.rerun()  # training finished: redraw the whole page with the new model

    training_progress()
    if st.session_state.get("train_error"):
        st.error(f"Training failed: {st.session_state.pop('train_error')}")

result = model_in_use()
(x_train, y_train), (x_test, y_test) = data()

# ---------------------------------------------------------------- header
st.title("✏️ MNIST Draw")
st.caption("The classic first neural network: a dense Keras network that reads handwritten digits. "
           "Draw a digit, see what the network sees, then look inside and train your own.")
if result.source == "shipped":
    st.info(f"Using the shipped model ({result.test_accuracy:.2%} on the MNIST test set). "
            "Train your own in the sidebar.", icon=":material/inventory_2:")
else:
    st.success(f"Using your model: {views.describe_config(result.config)} "
               f"({result.test_accuracy:.2%} on the MNIST test set).", icon=":material/model_training:")

# ---------------------------------------------------------------- draw
def draw_tab():
    @st.fragment
    def draw():
        model = model_in_use().model
        st.markdown("**Draw one digit, 0-9, anywhere on the white square.** The read-out follows every stroke; "
                    "undo and reset are in the canvas's toolbar.")
        st.write("")  # room for the canvas toolbar, which floats above the canvas
        left, middle, right = st.columns([1.1, 0.9, 1.3], gap="medium")
        with left:
            canvas = st_canvas(stroke_width=st.session_state.get("brush", 20), stroke_color="#000000",
                               background_color="#FFFFFF", width=280, height=280, drawing_mode="freedraw",
                               return_image_data=True, key="canvas")
            st.slider("Brush", 8, 32, 20, key="brush", help="Stroke width in canvas pixels.")
        try:
            image = canvas.image_data  # decodes the PNG the canvas sent
            digit = None if image is None else canvas_to_mnist(image)
        except Exception as e:  # a garbled upload must not cost the page: say so, keep going
            st.error(f"Could not read the drawing ({type(e).__name__}: {e}). Reset the canvas and draw again.")
            digit = None
        probs = None if digit is None else predict_proba(model, digit)[0]
        rows = views.probability_rows(probs)
        best = next((r for r in rows if r["best"]), None)
        with middle:
            st.metric("Prediction", best["digit"] if best else "–",
                      f"{best['probability']:.0%} sure" if best else None, delta_color="off", delta_arrow="off")
            straight = " and straightened" if digit is not None and deskews(model) else ""
            st.image(views.pixel_view(views.network_input(model, digit), 7), width=196,
                     caption=f"What the network sees: 28x28, white ink on black{straight}")
        with right:
            # A plain Vega-Lite spec: Altair's validation would cost ~13 ms on every stroke.
            st.vega_lite_chart(pd.DataFrame(rows), {
                "title": "All ten probabilities (softmax: they sum to 1)", "height": 300, "mark": "bar",
                "encoding": {
                    "x": {"field": "digit", "type": "nominal", "sort": None, "axis": {"labelAngle": 0}},
                    "y": {"field": "probability", "type": "quantitative", "scale": {"domain": [0, 1]},
                          "axis": {"format": "%"}},
                    "color": {"condition": {"test": "datum.best", "value": "#e4572e"}, "value": "#4c78a8"},
                    "tooltip": [{"field": "digit"}, {"field": "probability", "format": ".2%"}]}})
            if best:
                label = st.selectbox("Correct label", [str(d) for d in range(10)], index=int(best["digit"]),
                                     key=f"true-{best['digit']}",
                                     help="Correct the label if the network got it wrong, then save.")
                if st.button("Save drawing", disabled=label is None):
                    try:
                        drawings_store().save(digit, int(label), int(best["digit"]), canvas.image_bytes,
                                              cache_key(model_in_use().config))
                        st.session_state["saved"] = int(label)
                    except (DrawingsError, ValueError) as e:
                        st.error(f"Could not save the drawing: {e}")
                    else:
                        st.rerun()  # the whole page: "Your drawings" below changes
        st.caption("How the drawing becomes MNIST-like: crop to the ink, bring the stroke to MNIST's pen width, "
                   "scale the longer side to 20 px (anti-aliased), and put the centre of mass at the centre "
                   "of a 28x28 frame, exactly as MNIST's digits were made. A model that deskews then shears the "
                   "digit upright.")

    draw()
    if "saved" in st.session_state:
        st.toast(f"Saved as a {st.session_state.pop('saved')}. Reset the canvas (bin icon) for the next one.")

    st.subheader("Your drawings")
    try:
        _, dx, dy = drawings_store().arrays()
    except DrawingsError as e:
        st.warning(f"Your drawings are unavailable: {e} Drawing and classifying still work.")
        dx = None
    if dx is not None and len(dy) == 0:
        st.caption("Save drawings above and they become a test set of your own handwriting: the page measures "
                   "every model on them, and a training option mixes them into the training set.")
    elif dx is not None:
        acc = accuracy_on(result.model, dx, dy)
        a, b = st.columns([1, 2])
        a.metric("Read correctly", f"{acc['correct']} / {acc['total']}", f"{acc['correct'] / acc['total']:.0%}",
                 delta_color="off", delta_arrow="off")
        b.dataframe(pd.DataFrame(acc["per_digit"]).set_index("digit").T, width="stretch")
        if result.config.user_drawings:
            base = accuracy_on(shipped().model, dx, dy)
            st.markdown(
                f"**Effect of training on your drawings:** this model reads {acc['correct']}/{acc['total']} of them "
                f"and {result.test_accuracy:.2%} of the MNIST test set; the shipped model reads "
                f"{base['correct']}/{base['total']} and {shipped().test_accuracy:.2%}. Drawings saved before this "
                "training were in its training data, so only new ones measure it fairly.")
        gallery = st.columns(12)
        for i, (img, lab, pred) in enumerate(list(zip(dx, dy, acc["predicted"]))[-12:]):
            gallery[i].image(views.pixel_view(img, 2), caption=f"{lab}" + ("" if lab == pred else f" (read {pred})"))
        e1, e2, _ = st.columns([1, 1, 2])
        e1.download_button("Export (.npz)", to_npz(dx, dy), file_name="my-drawings.npz",
                           help="x: (n, 28, 28) uint8 and y: (n,) uint8, shaped like load_mnist's arrays.")
        with e2.popover("Delete all"):
            st.write(f"Delete all {len(dy)} saved drawings? This cannot be undone.")
            if st.button("Yes, delete them", type="primary"):
                drawings_store().delete()
                st.rerun()

# ---------------------------------------------------------------- data
def data_tab():
    st.subheader("MNIST: 70,000 handwritten digits")
    a, b, c = st.columns(3)
    a.metric("Training images", f"{len(x_train):,}")
    b.metric("Test images", f"{len(x_test):,}")
    c.metric("Image size", f"{x_train.shape[1]}x{x_train.shape[2]}", "grayscale 0-255", delta_color="off",
             delta_arrow="off")
    st.markdown(f"`x_train` is a uint8 array shaped `{x_train.shape}`, `y_train` holds its labels, "
                f"shaped `{y_train.shape}`; the test set is `{x_test.shape}`. The network learns from the "
                "training set only; the test set measures it on digits it has never seen.")
    left, right = st.columns([1, 1.4])
    with left:
        st.markdown("**How many of each digit (training set)**")
        st.bar_chart(pd.DataFrame(views.label_counts(y_train)), x="digit", y="count", height=260)
    with right:
        st.markdown("**Sample training digits**")
        start = st.session_state.get("sample_start", 0)
        if st.button("Show other samples"):
            start = st.session_state["sample_start"] = (start + 16) % len(x_train)
        cols = st.columns(8)
        for i in range(16):
            cols[i % 8].image(views.pixel_view(x_train[start + i], 3), caption=f"label {y_train[start + i]}")
    st.markdown("**Preparing the data, on the first training image**")
    ex = views.preparation_example(x_train[0], int(y_train[0]))
    p1, p2, p3 = st.columns([1, 1.2, 1.2])
    p1.image(views.pixel_view(ex["pixels"], 5), caption=f"28x28 pixels, 0-255, label {y_train[0]}", width=140)
    p2.markdown(f"**Images:** each 28x28 image is reshaped to one row of {ex['flat_len']} numbers "
                "(`reshape((60000, 28 * 28))`) and divided by 255 so values lie in [0, 1] "
                "(`astype('float32') / 255`). The first inked pixels of this row: "
                + ", ".join(f"[{i}] {v}" for i, v in ex["flat_first_ink"]) + " …")
    p3.markdown(f"**Labels:** the digit {y_train[0]} becomes a one-hot vector of ten "
                f"(`to_categorical`): `{ex['one_hot']}`, the answer the softmax output should match.")
    st.caption("MNIST © Yann LeCun and Corinna Cortes, CC BY-SA 3.0; shipped in assets/mnist with its license.")

# ---------------------------------------------------------------- network
def network_tab():
    st.subheader(views.architecture(result.model))
    left, right = st.columns([1.2, 1])
    with left:
        st.dataframe(pd.DataFrame(views.layer_table(result.model)), hide_index=True)
        st.markdown("**Layers distil representations.** The hidden `Dense(512, relu)` layer computes "
                    "`relu(x · W + b)`: 512 learned combinations of the 784 pixels, each a feature such as a "
                    "stroke in some place. `relu` keeps what is positive, which lets the layers stack into "
                    "something more than one linear map. Its 784 × 512 weights + 512 biases are 401,920 "
                    "parameters.")
        if deskews(result.model):
            st.markdown("**This model deskews first.** Its `Deskew` layer has no weights: it measures each digit's "
                        "slant from its image moments and shears it upright, pivoting on the centre of mass, so the "
                        "dense layers need not learn every digit at every slant. LeCun's MNIST results table has "
                        "rows for classifiers with and without deskewing for this reason.")
        st.markdown("**Softmax gives ten probabilities that sum to 1.** The last layer scores each digit and "
                    "softmax turns the ten scores into probabilities: the bar chart under *Draw*.")
    with right:
        st.markdown("**Compiling: how it learns**")
        st.markdown("- **Loss: categorical cross-entropy.** How wrong the probabilities are: minus the log of "
                    "the probability given to the true digit. Training lowers it.\n"
                    "- **Optimizer: RMSprop.** How the weights move: a step down the loss's gradient, scaled "
                    "per weight by a running average of recent gradient sizes.\n"
                    "- **Metric: accuracy.** What people care about: the share of images whose most probable "
                    "digit is the right one. It is watched, not optimised.")
        st.code("model = keras.Sequential([\n    keras.Input(shape=(784,)),\n"
                "    layers.Dense(512, activation='relu'),\n    layers.Dense(10, activation='softmax'),\n])\n"
                "model.compile(optimizer='rmsprop',\n              loss='categorical_crossentropy',\n"
                "              metrics=['accuracy'])", language="python")
        st.caption("The reference network in Keras. The options in the sidebar add layers (`Deskew` in front, "
                   "`Dropout` after the hidden layer); the table lists this model's own.")

# ---------------------------------------------------------------- training and testing
def training_tab():
    st.subheader("Training and testing")
    c = result.config
    st.markdown(f"This model: **{views.describe_config(c)}**, trained in {result.seconds:.0f} s "
                f"(`model.fit(train_images, train_labels, epochs={c.epochs}, batch_size={c.batch_size})`). "
                "Change the settings and press **Train** in the sidebar.")
    a, b, c2 = st.columns(3)
    a.metric("Test accuracy", f"{result.test_accuracy:.2%}")
    b.metric("Test loss", f"{result.test_loss:.4f}")
    gap = result.train_accuracy - result.test_accuracy
    c2.metric("Training accuracy (last epoch)", f"{result.train_accuracy:.2%}",
              f"{gap:+.2%} vs test", delta_color="off", delta_arrow="off")
    if gap > 0:
        st.markdown(f"**Overfitting.** The network does {gap * 100:.2f} percentage points better on the images it "
                    "trained on than on "
                    "the test images it never saw. It has learned some quirks of its training set that do not "
                    "carry over to new handwriting. More epochs widen the gap; dropout and augmentation "
                    "narrow it.")
    else:
        st.markdown("**No overfitting gap here.** With augmentation or dropout the training accuracy is measured "
                    "on distorted or partly silenced inputs, which are harder than the clean test images.")
    gap_numbers = views.overfitting_gap(result.history)
    if gap_numbers:
        st.markdown(f"**Overfitting in numbers.** Training accuracy minus test accuracy: "
                    f"{gap_numbers['first'] * 100:+.2f} percentage points after epoch 1, "
                    f"{gap_numbers['last'] * 100:+.2f} after epoch {gap_numbers['epochs']}. The training loss is "
                    f"{gap_numbers['train_loss']:.4f}, the test loss {gap_numbers['test_loss']:.4f}. (Keras averages "
                    "an epoch's training accuracy while the weights are still changing, so early on it trails the "
                    "test accuracy.) Train with more epochs and watch the lines part.")
    st.markdown("**Loss and accuracy per epoch**, on the training data and on the test set (measured after every "
                "epoch, never used to steer training)")
    chart_history(result.history)

# ---------------------------------------------------------------- where it fails
def failures_tab():
    report = test_set_report(cache_key(result.config) + result.source, result.model)
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
        st.markdown("**Accuracy per digit**")
        st.dataframe(pd.DataFrame({"digit": [str(d) for d in range(10)],
                                   "accuracy": report["per_digit_accuracy"]}),
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


# ---------------------------------------------------------------- the tabs
# The Draw tab always runs, so its canvas stays mounted (a drawing survives a look at another tab);
# the others run only while open (on_change="rerun"). A stroke then re-renders the Draw tab alone,
# which took ~30 ms off every read-out in Chromium.
TABS = {"✏️ Draw a digit": draw_tab, "1 · The data": data_tab, "2 · The network": network_tab,
        "3 · Training and testing": training_tab, "4 · Where it fails": failures_tab}
for container, show in zip(st.tabs(list(TABS), key="tab", on_change="rerun"), TABS.values()):
    if container.open or show is draw_tab:
        with container:
            show()
