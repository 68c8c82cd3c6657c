"""The trained digit recogniser: a small CNN (an ensemble of a few), numpy-only inference.

Why numpy: the Raspberry Pi that runs the agent has neither torch nor TFLite. The CNN is
trained with PyTorch (``meter_agent/training/train_digits.py``, optional extra ``train``)
and exported as plain arrays; batch-norm is folded into the convolutions at export, so
inference here is just convolution (im2col + one matrix product), ReLU, 2×2 max-pool,
dense layers and a softmax: about a millisecond per digit, a few hundred KB on disk.

It is trained on the real crops of haverland/Tenth-of-step-of-a-meter-digit (Apache-2.0;
credit kept in ``meter_agent/models/NOTICE`` and in the model's ``info``) plus synthetic
LCD and drum cells, with heavy camera-like augmentation (either polarity, neighbouring
digits in the margins, blur, noise, JPEG, perspective).

The network reads **where a drum stands**, to a tenth of a step: 100 outputs for the
positions 0.0, 0.1 … 9.9 (7.3 = the 7 turned three tenths toward 8; an LCD digit or a
settled drum is d.0) and one more, "N", for not a digit (blank, letter, occluded) — like
haverland's dig-class100, trained on the collection's drums labelled to a tenth. From the
position distribution come both questions the reader asks:

* a settled digit (an LCD, a higher drum): the mass within half a step of each digit
  (:func:`fold_round`);
* the last drum of a counter, read as its lower digit until the next one is in place:
  the mass of each digit's ten tenths (:func:`fold_floor`), so a drum 8.9 turned and one
  at 9.0 are told apart by the model's own probabilities, not by a hand-set margin.

The logits are divided by a temperature fitted on makers kept out of training (the
model's ``info["temperature"]``), so a probability of 0.9 is right about nine times in ten.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from meter_agent.engines import DigitGuess

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "digits.npz"
#: network input, height × width: a digit cell stretched to this size
IMG_H, IMG_W = 32, 20
#: the network's outputs: positions 0.0-9.9 in tenths, then "not a digit"
N_BINS = 100
N_OUT = N_BINS + 1
NOT_DIGIT = N_BINS
#: digit probabilities folded from the positions: 0-9, then N
N_CLASSES = 11
N_CLASS = 10
#: floor of the per-image standard deviation, on a 0–255 scale: a blank cell stays flat
#: instead of having its sensor noise stretched into strokes
MIN_STD = 10.0


def prepare(image: np.ndarray) -> np.ndarray:
    """One crop (grey or BGR, any size, either polarity) as the network's input: grey,
    resized to IMG_H × IMG_W, zero mean and unit spread per image (so the camera's
    exposure does not matter; polarity is left to the network, trained on both)."""
    g = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    g = cv2.resize(g, (IMG_W, IMG_H), interpolation=cv2.INTER_AREA).astype(np.float32)
    return (g - g.mean()) / max(float(g.std()), MIN_STD)


def fold_round(q: np.ndarray) -> np.ndarray:
    """Position distributions (… × 101) as digit probabilities (… × 11): digit d takes
    the positions within half a step of it (d-0.4 … d+0.4, and half of d±0.5, which
    belong to neither digit; wrapping 9 → 0), N stays N."""
    p = q[..., :N_BINS]
    inner = np.roll(p, 4, axis=-1).reshape(*q.shape[:-1], 10, 10)[..., :9].sum(axis=-1)
    half = p[..., 5::10]  # the positions d+0.5
    digits = inner + 0.5 * half + 0.5 * np.roll(half, 1, axis=-1)
    return np.concatenate([digits, q[..., N_BINS:]], axis=-1)


def fold_floor(q: np.ndarray) -> np.ndarray:
    """Position distributions as *lower*-digit probabilities (… × 11): digit d takes
    d.0 … d.9, the way the last drum of a counter is read."""
    digits = q[..., :N_BINS].reshape(*q.shape[:-1], 10, 10).sum(axis=-1)
    return np.concatenate([digits, q[..., N_BINS:]], axis=-1)


def position(q: np.ndarray) -> float:
    """The drum position 0 ≤ v < 10 of one distribution: the probability-weighted
    circular mean of the positions within a step of the strongest (a second peak far
    away, a confusion, does not drag the mean between the two)."""
    p = q[:N_BINS]
    smooth = p + np.roll(p, 1) + np.roll(p, -1)
    c = int(np.argmax(smooth))
    offs = np.arange(-10, 11)
    w = p[(c + offs) % N_BINS]
    v = c + float((w * offs).sum() / max(float(w.sum()), 1e-9))
    return (v / 10.0) % 10.0


#: OpenBLAS spreads a matrix product over threads above about 2.6e5 multiply-adds
#: (rows × inner × columns). On a busy small machine those threads wait on each other:
#: a batch of 8 digits took 13–16 ms per network instead of 1.3 ms. Products are cut
#: into row blocks under this size, which OpenBLAS runs on the calling thread.
SINGLE_THREAD_MNK = 200_000


def matmul(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``a @ w`` in row blocks small enough to stay on the calling thread."""
    rows = max(1, SINGLE_THREAD_MNK // (a.shape[1] * w.shape[1]))
    if a.shape[0] <= rows:
        return a @ w
    out = np.empty((a.shape[0], w.shape[1]), np.float32)
    for s in range(0, a.shape[0], rows):
        np.matmul(a[s : s + rows], w, out=out[s : s + rows])
    return out


def conv3x3_relu(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3×3 convolution, zero padding 1, then ReLU. ``x`` is N×H×W×C, ``w`` is
    (C·9)×K (torch's K×C×3×3 laid out for one matrix product): im2col by a strided view."""
    n, h, wd, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = sliding_window_view(xp, (3, 3), axis=(1, 2))  # N×H×W×C×3×3, no copy yet
    y = matmul(cols.reshape(n * h * wd, c * 9), w) + b
    return np.maximum(y, 0.0, out=y).reshape(n, h, wd, -1)


def max_pool2(x: np.ndarray) -> np.ndarray:
    """2×2 max-pool, stride 2; an odd last row or column is dropped (as torch does)."""
    n, h, w, c = x.shape
    h2, w2 = h // 2, w // 2
    return x[:, : h2 * 2, : w2 * 2].reshape(n, h2, 2, w2, 2, c).max(axis=(2, 4))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class CnnMember:
    """One network: conv blocks (3×3 conv with folded batch-norm, ReLU, 2×2 max-pool),
    then dense layers (ReLU between them, softmax after the last)."""

    convs: list[tuple[np.ndarray, np.ndarray]]
    dense: list[tuple[np.ndarray, np.ndarray]]

    def features(self, x: np.ndarray) -> np.ndarray:
        """The last hidden layer (after its ReLU): what the final layer classifies."""
        h = x[..., None]
        for w, b in self.convs:
            h = max_pool2(conv3x3_relu(h, w, b))
        # torch flattens channels first
        h = h.transpose(0, 3, 1, 2).reshape(h.shape[0], -1)
        for w, b in self.dense[:-1]:
            h = np.maximum(matmul(h, w) + b, 0.0)
        return h

    def logits_from(self, features: np.ndarray) -> np.ndarray:
        w, b = self.dense[-1]
        return matmul(features, w) + b

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self.logits_from(self.features(x))


def _member(z: np.lib.npyio.NpzFile, m: int) -> CnnMember:
    """Read member ``m`` from the arrays ``m{m}_conv{k}_w/_b`` and ``m{m}_dense{k}_w/_b``."""
    f32 = np.float32

    def layers(kind: str) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        k = 0
        while f"m{m}_{kind}{k}_w" in z.files:
            w = z[f"m{m}_{kind}{k}_w"].astype(f32)
            if w.ndim == 4:  # K×C×3×3 → (C·9)×K
                w = w.reshape(w.shape[0], -1).T
            out.append((np.ascontiguousarray(w), z[f"m{m}_{kind}{k}_b"].astype(f32)))
            k += 1
        return out

    return CnnMember(layers("conv"), layers("dense"))


@dataclass
class DigitModel:
    """An ensemble of CNNs (their probabilities are averaged, which calibrates better
    than any one of them) and the model's ``info`` record (training, held-out split,
    held-out report, licence notice)."""

    members: list[CnnMember]
    info: dict

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> DigitModel:
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"digit model {path} cannot be loaded: {exc}.") from None
        info = json.loads(str(z["info"])) if "info" in z.files else {}
        members: list[CnnMember] = []
        while f"m{len(members)}_conv0_w" in z.files:
            members.append(_member(z, len(members)))
        if not members:
            raise ValueError(f"digit model {path} holds no CNN (no array m0_conv0_w).")
        outputs = members[0].dense[-1][0].shape[1]
        if outputs != N_OUT:
            raise ValueError(
                f"digit model {path} has {outputs} outputs, not the {N_OUT} drum positions "
                "this version reads; train it again with meter_agent.training.train_digits."
            )
        return cls(members, info)

    @property
    def temperature(self) -> float:
        """The logits' divisor fitted on held-out makers (1.0 when the file has none)."""
        return float(self.info.get("temperature", 1.0))

    def positions(self, x: np.ndarray) -> np.ndarray:
        """Position distributions (N × 101: 0.0-9.9 in tenths, then N) for prepared inputs."""
        return self.positions_and_embeddings(x)[0]

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Digit probabilities (N × 11: 0-9, then N) for prepared inputs (N × IMG_H × IMG_W):
        the positions folded to the nearest digit (:func:`fold_round`)."""
        return fold_round(self.positions(x))

    def positions_and_embeddings(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position distributions, and each input's embedding: every member's last hidden
        layer scaled to unit length, side by side, over √members — so the dot product
        of two embeddings is the members' mean cosine similarity (1 = the networks see
        the same thing). :mod:`meter_agent.references` compares cells of one meter by it.
        """
        q, emb, _ = self.read_all(x)
        return q, emb

    def read_all(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position distributions, embeddings (see :meth:`positions_and_embeddings`) and
        each input's floor agreement (N × 10): per digit, the least mass any one member
        puts on that digit's ten tenths. Members trained from other seeds agree on what
        they have learnt and part on what none has seen (an unseen maker's drum): the
        average alone hides that one network reads another digit."""
        out = np.zeros((x.shape[0], N_OUT), np.float32)
        agree = np.ones((x.shape[0], N_CLASS), np.float32)
        parts = []
        t = self.temperature
        for m in self.members:
            f = m.features(x)
            p = softmax(m.logits_from(f) / t)
            out += p
            agree = np.minimum(agree, fold_floor(p)[:, :N_CLASS])
            parts.append(f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-6))
        emb = np.concatenate(parts, axis=1) / np.sqrt(len(self.members))
        return out / len(self.members), emb.astype(np.float32), agree

    def probabilities_and_embeddings(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`probabilities` and the embeddings, from one forward pass."""
        q, emb = self.positions_and_embeddings(x)
        return fold_round(q), emb

    @functools.cached_property
    def fingerprint(self) -> str:
        """Identifies the weights: embeddings from another model are not comparable."""
        h = hashlib.sha256()
        for m in self.members:
            for w, b in (*m.convs, *m.dense):
                h.update(w.tobytes())
                h.update(b.tobytes())
        return h.hexdigest()[:16]


@functools.lru_cache(maxsize=2)
def load_model(path: str = str(MODEL_PATH)) -> DigitModel:
    return DigitModel.load(path)


def guess_from_positions(
    q: np.ndarray, rolling: bool = True, floor_agreement: np.ndarray | None = None
) -> DigitGuess:
    """Turn one position distribution (101) into a guess.

    ``char`` is the digit nearest the position (what a settled drum or an LCD shows) and
    ``confidence`` its probability. For drums (``rolling``) the guess also carries the
    position and both foldings, so the reader can read the last drum as its lower digit
    and carry the drums above it (:func:`meter_agent.reader.resolve_drums`).
    """
    n = float(q[NOT_DIGIT])
    if n >= 0.5:
        return DigitGuess(None, n, "other")
    r = fold_round(q)
    c = int(np.argmax(r[:10]))
    if not rolling:
        return DigitGuess(str(c), float(r[c]), "digit", value=float(c), p_top=float(r[c]))
    return DigitGuess(
        str(c),
        float(r[c]),
        "digit",
        value=position(q),
        p_top=float(r[c]),
        positions=tuple(float(v) for v in q[:N_BINS]),
        floor_agreement=(
            None if floor_agreement is None else tuple(float(v) for v in floor_agreement)
        ),
    )


@dataclass(frozen=True)
class ModelRead:
    """One forward pass of the model over a window's cells: what display detection and
    the reading both need, so a frame runs the networks once."""

    positions: np.ndarray  # N × 101: each cell's position distribution
    embeddings: np.ndarray  # N × E: for the meter's own examples
    agreement: np.ndarray  # N × 10: the least mass any one network puts on each digit

    def guesses(self, rolling: bool = True) -> list[DigitGuess]:
        """One guess per cell, as a drum (``rolling``: with the position) or settled."""
        return [
            guess_from_positions(q, rolling, a)
            for q, a in zip(self.positions, self.agreement, strict=True)
        ]


class DigitsEngine:
    """The trained recogniser as an engine."""

    name = "cnn"

    def __init__(self, path: str | Path = MODEL_PATH) -> None:
        self.model = load_model(str(path))

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        if not images:
            return np.zeros((0, N_CLASSES), np.float32)
        return self.model.probabilities(np.stack([prepare(im) for im in images]))

    def read(self, images: list[np.ndarray], rolling: bool = True) -> list[DigitGuess]:
        """One guess per digit image (camera grey or BGR crops of single digits)."""
        return self.forward(images).guesses(rolling)

    def forward(self, images: list[np.ndarray]) -> ModelRead:
        """The networks run once over the images (camera grey or BGR crops)."""
        if not images:
            return ModelRead(
                np.zeros((0, N_OUT), np.float32),
                np.zeros((0, 0), np.float32),
                np.zeros((0, N_CLASS), np.float32),
            )
        return ModelRead(*self.model.read_all(np.stack([prepare(im) for im in images])))
