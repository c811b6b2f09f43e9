"""Inside the network: what its hidden units learned, and which of them fired for one input.

Pure numpy functions of a model (Input(784) [-> Deskew] -> Dense(h, relu) [-> Dropout] -> Dense(10,
softmax)) and one 28x28 image in [0, 1]; they read the weights, never call Keras. Names:
x (784,) what the hidden layer reads (the image, deskewed if the model deskews), W1 (784, h) and
b1 (h,) the hidden layer, a = relu(x @ W1 + b1) (h,) its activations, W2 (h, 10) and b2 (10,) the
output layer, z = a @ W2 + b2 (10,) the scores that softmax turns into probabilities.
"""

from __future__ import annotations

import numpy as np

from .network import as_network, deskew


def weights(model) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(W1 (784, h), b1 (h,), W2 (h, 10), b2 (10,)); a ValueError for any other kind of network."""
    dense = [layer for layer in as_network(model).layers if layer.kind == "Dense"]
    if len(dense) != 2 or dense[0].activation != "relu":
        raise ValueError("looking inside needs the dense network: 784 inputs, one relu hidden layer, 10 outputs")
    return dense[0].kernel, dense[0].bias, dense[1].kernel, dense[1].bias


def network_input(model, image: np.ndarray) -> np.ndarray:
    """(28, 28) in [0, 1] -> (784,) x: what the hidden layer reads (deskewed if the model deskews)."""
    x = np.asarray(image, np.float32).reshape(1, 784)
    return (deskew(x) if as_network(model).deskews else x)[0]


def look_inside(model, image: np.ndarray, top: int = 6) -> dict:
    """Everything the Look inside tab shows for one drawing:
    - digit: the predicted digit d (argmax of z) and probabilities (10,);
    - activations (h,): a, how strongly each hidden unit fired;
    - units: the `top` units that pushed d most, each {unit, activation, weight (W2[unit, d]),
      push (activation * weight), share (of all units' positive push towards d), image (28, 28):
      its 784 incoming weights};
    - contributions (28, 28): gradient x input of z[d]: how much each pixel of x pushed towards d
      (positive) or against it (negative); they sum to z[d] - b2[d] - sum over the units j that
      fired of W2[j, d] * b1[j] (the part of the score the pixels, not the biases, make);
    - input (28, 28): x, the image the hidden layer read."""
    w1, b1, w2, b2 = weights(model)
    x = network_input(model, image)
    pre = x @ w1 + b1
    a = np.maximum(pre, 0)
    z = a @ w2 + b2
    p = np.exp(z - z.max())
    p /= p.sum()
    d = int(np.argmax(z))
    push = a * w2[:, d]
    positive = push[push > 0].sum()
    order = np.argsort(-push)[:top]
    units = [{"unit": int(j), "activation": float(a[j]), "weight": float(w2[j, d]), "push": float(push[j]),
              "share": float(push[j] / positive) if positive > 0 else 0.0, "image": w1[:, j].reshape(28, 28)}
             for j in order if push[j] > 0]
    grad = w1 @ ((pre > 0) * w2[:, d])  # (784,) dz[d]/dx: relu passes the gradient only where it fired
    return {"digit": d, "probabilities": p, "activations": a, "units": units,
            "contributions": (grad * x).reshape(28, 28), "input": x.reshape(28, 28)}


def unit_images(model, units) -> np.ndarray:
    """(len(units), 28, 28): each hidden unit's 784 incoming weights, as an image."""
    w1 = weights(model)[0]
    return np.stack([w1[:, j].reshape(28, 28) for j in units])


def digit_templates(model) -> np.ndarray:
    """(10, 28, 28): what sets each digit apart. For digit d, its hidden units' weight images summed
    with the weights by which they feed d (W1 @ W2[:, d], as if every unit fired alike), less the
    mean of that over the ten digits: the part every digit shares (ink anywhere near the middle)
    would otherwise hide the differences."""
    w1, _, w2, _ = weights(model)
    t = (w1 @ w2).T / w1.shape[1]  # (10, 784)
    return (t - t.mean(axis=0)).reshape(10, 28, 28)
