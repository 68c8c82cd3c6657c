"""This meter's own digits, learnt while the agent runs, to confirm digits the trained
model is unsure of.

Why: the model is trained on a few dozen meters. On a meter unlike them (a washed-out
water meter, a bar across the window) it reads the right digit but is not sure enough,
and an agent that never guesses then refuses that meter's readings for good —
AI-on-the-edge's answer is to mail your digits to its author for the next model. Here
the agent keeps a few examples of each digit *of this meter*: cells it read with a
sure model, and the cells of a frame whose reading a person set by hand (``PUT
/reading``). A cell the model is unsure of is compared with them in the model's own
feature space (its last hidden layer, see
:meth:`meter_agent.engines.digits.DigitModel.probabilities_and_embeddings`); a close
match to one digit's examples, clearly closer than to any other digit's, is a second
opinion that votes like an engine.

It can only confirm: a match to a digit the model does not read makes the engines
disagree, and the cell is refused — unless no example of the model's digit has been
kept yet (the examples cannot say a cell is not a digit they have never seen: a drum
stream's first 5 matched its learnt 3), and then they abstain. On the held-out makers
(bench/ocr.py, examples from the same meter's other crops) it was never the cause of a
wrong digit.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from meter_agent.engines import DigitGuess
from meter_agent.files import write_atomically

FILE_NAME = "references.npz"
#: how often the model's digit was right where the examples agreed with it, measured on
#: real crops by ``python -m meter_agent.training.references_accuracy``
SHARE_PATH = Path(__file__).resolve().parent / "models" / "references-accuracy.json"
#: a cell must be at least this close (mean cosine over the model's members) to one
#: digit's examples …
REF_SIM = 0.8
#: … and this much closer to them than to any other digit's examples
REF_MARGIN = 0.1
#: examples kept per digit (the oldest goes first: lighting drifts over the seasons)
PER_DIGIT = 8
#: a new example this close to a kept one adds nothing (and costs a write)
SAME = 0.97


@lru_cache(maxsize=1)
def examples_share() -> float:
    """The share of the model's doubt that the meter's examples take away when they
    agree with the digit the model leans to (see ``meter_agent.reader._confirmed``):
    the lower end of the 95 % interval of how often that digit was right (SHARE_PATH).
    Measured, not set: on the held-out meters (makers the model never trained on) the
    examples never agreed with a wrong digit outside the band near a digit, where the
    reader does not let them decide, so the agreement leaves little doubt."""
    data = json.loads(SHARE_PATH.read_text())
    share = float(data["share"])
    if not 0.0 < share < 1.0:
        raise ValueError(f"{SHARE_PATH} does not hold a share in (0, 1)")
    return share


@dataclass
class ReferenceBank:
    """Embeddings of known digit cells of one meter, per digit, for one model."""

    model: str  # the digit model's fingerprint: embeddings of another model do not compare
    by_digit: dict[str, np.ndarray] = field(default_factory=dict)  # digit → K × D
    changed: bool = False

    def clear(self) -> None:
        """Forget every example (another meter: its digits may look otherwise)."""
        if self.by_digit:
            self.by_digit = {}
            self.changed = True

    def copy(self) -> ReferenceBank:
        """An independent copy (a preview reads with it and may learn into it)."""
        return ReferenceBank(self.model, {d: e.copy() for d, e in self.by_digit.items()})

    # known() and examples() serve /health from the server's thread while the capture
    # thread may add a digit: they read a copy (taken atomically under the GIL)
    def examples(self) -> int:
        return sum(len(e) for e in dict(self.by_digit).values())

    def known(self) -> str:
        """The digits with at least one example, e.g. "01259"."""
        return "".join(sorted(d for d, e in dict(self.by_digit).items() if len(e)))

    def add(self, digit: str, emb: np.ndarray) -> bool:
        """Keep ``emb`` as an example of ``digit``; False if a kept one is the same."""
        e = np.asarray(emb, np.float32).reshape(1, -1)
        have = self.by_digit.get(digit)
        if have is not None and len(have):
            if have.shape[1] != e.shape[1]:
                raise ValueError("the example's size does not match the kept examples.")
            if float((have @ e.T).max()) >= SAME:
                return False
            e = np.vstack([have, e])[-PER_DIGIT:]
        self.by_digit[digit] = e
        self.changed = True
        return True

    def match(self, emb: np.ndarray, model_digit: str | None = None) -> DigitGuess:
        """The digit whose examples ``emb`` is close to, clearly closer than to any other
        digit's; else no opinion. Needs examples of two digits at least, so that "clearly
        closer" means something. Given the digit the model reads there, no opinion
        against it when that digit has no example kept: the examples cannot say a cell
        is not a digit they have never seen (a drum stream's first 5, read at 0.98,
        matched its learnt 3, and the cell was refused)."""
        sims = {
            d: float((e @ np.asarray(emb, np.float32)).max())
            for d, e in self.by_digit.items()
            if len(e)
        }
        if len(sims) < 2:
            return DigitGuess(None, 0.0, "unknown")
        ranked = sorted(sims.items(), key=lambda kv: kv[1], reverse=True)
        (best, s1), (_, s2) = ranked[0], ranked[1]
        if s1 < REF_SIM or s1 - s2 < REF_MARGIN:
            return DigitGuess(None, 0.0, "unknown")
        if model_digit is not None and best != model_digit and model_digit not in sims:
            return DigitGuess(None, 0.0, "unknown")
        return DigitGuess(best, min(1.0, s1), "digit", value=float(best))

    # -- on disk -------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Atomically (a crash leaves the old file or the new one, never half of one)."""
        arrays = {f"d{d}": e.astype(np.float16) for d, e in self.by_digit.items() if len(e)}
        buf = io.BytesIO()
        # numpy's stub lets **arrays fill savez's allow_pickle: bool; its keys are "d0".."d9"
        np.savez(buf, meta=np.array(json.dumps({"model": self.model})), **arrays)  # type: ignore[arg-type]
        write_atomically(path, buf.getvalue())
        self.changed = False

    @classmethod
    def load(cls, path: Path, model: str) -> ReferenceBank:
        """The bank saved at ``path`` for ``model``; an empty one if there is none, or if it
        was learnt with another model (its examples would not compare). A damaged file
        raises a one-sentence ValueError."""
        if not path.is_file():
            return cls(model)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                by_digit = {
                    k[1:]: z[k].astype(np.float32)
                    for k in z.files
                    if k.startswith("d") and len(k) == 2 and k[1].isdigit()
                }
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"the meter's digit examples in {path} are damaged: {exc}.") from None
        dims = {e.shape[1] for e in by_digit.values() if e.ndim == 2}
        if any(e.ndim != 2 for e in by_digit.values()) or len(dims) > 1:
            raise ValueError(f"the meter's digit examples in {path} are damaged: bad shapes.")
        if meta.get("model") != model:
            return cls(model)
        return cls(model, by_digit)
