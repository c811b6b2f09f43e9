"""Training and testing: this model's figures, overfitting, and the per-epoch curves."""

from __future__ import annotations

import streamlit as st

from mnist_core import views
from mnist_core.cache import bundle

from .state import chart_history, model_key


@st.cache_data(show_spinner=False, max_entries=4)
def _bundle(key: str, _result) -> bytes:
    return bundle(_result)


def training_tab(result):
    st.subheader("Training and testing")
    c = result.config
    st.markdown(f"This model: **{views.describe_config(c)}**, trained in {result.seconds:.0f} s "
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
        st.markdown(f"**No overfitting gap here:** {views.no_gap_reason(c)}")
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
