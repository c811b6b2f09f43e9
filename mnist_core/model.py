"""The reference network: Input(784) -> Dense(512, relu) -> Dense(10, softmax), RMSprop.

An option puts a Deskew layer (no weights) in front: it shears each digit upright before the dense
layers see it, as in the "deskewing" rows of LeCun's MNIST results table.
"""

from __future__ import annotations

import weakref

import keras

from .config import TrainConfig
from .network import Layer, Network, deskew

@keras.saving.register_keras_serializable(package="mnist_draw")
class Deskew(keras.layers.Layer):
    """Shears each digit upright (see deskew); no weights, so training leaves it as it is."""

    def call(self, x):
        return deskew(x, keras.ops)

    def compute_output_shape(self, input_shape):
        return input_shape


# model -> (optimizer step it was read at, its Network): a copy of the weights per step, not per call
_networks: "weakref.WeakKeyDictionary[keras.Model, tuple]" = weakref.WeakKeyDictionary()


def _step(model: keras.Model):
    opt = getattr(model, "optimizer", None)
    return None if opt is None else int(opt.iterations.numpy())


def network_of(model: keras.Model) -> Network:
    """The model as a Network of its current weights (copies); a ValueError for any other kind of network."""
    step = _step(model)
    hit = _networks.get(model)
    if hit is not None and hit[0] == step:
        return hit[1]
    layers = []
    for layer in model.layers:
        if isinstance(layer, Deskew):
            layers.append(Layer(layer.name, "Deskew"))
        elif isinstance(layer, keras.layers.Dropout):
            layers.append(Layer(layer.name, "Dropout", rate=float(layer.rate)))
        elif isinstance(layer, keras.layers.Dense):
            kernel, bias = layer.get_weights()
            layers.append(Layer(layer.name, "Dense", kernel, bias, layer.activation.__name__))
        else:
            raise ValueError(f"looking inside needs the dense network; it has a {type(layer).__name__} layer")
    network = Network(tuple(layers))
    _networks[model] = (step, network)
    return network


def forget(model: keras.Model) -> None:
    """Drop the Network copy of model's weights: for weights changed other than by its own training
    (set_weights, or a reused trainer whose step count starts again)."""
    _networks.pop(model, None)


def build_model(config: TrainConfig = TrainConfig()) -> keras.Model:
    """The dense network of the reference notebook; dropout and deskew only if the config asks."""
    # Named layers: Keras's own numbering (dense, dense_1) once named both "dense" when several
    # threads built models at once.
    layers = [keras.Input(shape=(784,))]
    if config.deskew:
        layers.append(Deskew(name="deskew"))
    layers.append(keras.layers.Dense(512, activation="relu", name="hidden"))
    if config.dropout:
        layers.append(keras.layers.Dropout(config.dropout, name="dropout"))
    layers.append(keras.layers.Dense(10, activation="softmax", name="output"))
    model = keras.Sequential(layers, name="mnist_dense")
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
