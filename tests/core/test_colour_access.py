"""Charts stay readable with a colour-vision deficiency (about 1 man in 12 has a red-green one).

Each colour is seen as a deuteranope, a protanope and a tritanope would see it (Machado, Oliveira and Fernandes 2009,
severity 1.0, applied in linear RGB) and pairs that must be told apart are compared by their CIEDE2000 colour
difference (about 2 is barely visible side by side; 10 and more reads as a different colour at a glance). The bars
are measured on the real colours of :mod:`core.figures`: the first release's green Benign read as its light red DDoS-UDP
and light orange DoS-UDP to a deuteranope or protanope (difference about 2), and its red-yellow-green F1 heatmap had
the same colour at F1 0 and F1 1 to a deuteranope (difference 8).
"""

from __future__ import annotations

import itertools

import numpy as np
import plotly.colors as pc
import pytest

from core import figures as F
from core.compare import ModelScore
from core.evaluation import evaluate
from core.taxonomy import CATEGORY, CLASSES_6, CLASSES_19

# Machado et al. (2009), severity 1.0: linear RGB in, linear RGB out.
MACHADO = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
DEFICIENCIES = tuple(MACHADO)
VISIONS = ("typical", *DEFICIENCIES)
_SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])  # fmt: skip
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def _srgb(colour: str) -> np.ndarray:
    """``#rrggbb`` or ``rgb(r, g, b)`` as sRGB in 0..1."""
    colour = colour.strip()
    if colour.startswith("#"):
        return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.array([float(v) for v in colour[colour.index("(") + 1 : -1].split(",")[:3]]) / 255


def _linear(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _encoded(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)


def seen(colour: str, vision: str) -> np.ndarray:
    """sRGB (0..1) of ``colour`` as seen with ``vision``."""
    rgb = _srgb(colour)
    return rgb if vision == "typical" else _encoded(np.array(MACHADO[vision]) @ _linear(rgb))


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour in 0..1."""
    t = _SRGB_TO_XYZ @ _linear(rgb) / _WHITE_D65
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def ciede2000(lab1, lab2) -> float:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal 2005)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360 if c2p else 0.0
    dlp, dcp = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        dhp = 0.0
    elif abs(h2p - h1p) <= 180:
        dhp = h2p - h1p
    else:
        dhp = h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360
    d_hue = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dhp / 2))
    lbp, cbp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbp = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbp = (h1p + h2p) / 2
    else:
        hbp = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * np.cos(np.radians(hbp - 30)) + 0.24 * np.cos(np.radians(2 * hbp))
         + 0.32 * np.cos(np.radians(3 * hbp + 6)) - 0.20 * np.cos(np.radians(4 * hbp - 63)))  # fmt: skip
    d_theta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    rc = 2 * np.sqrt(cbp**7 / (cbp**7 + 25**7))
    sl = 1 + 0.015 * (lbp - 50) ** 2 / np.sqrt(20 + (lbp - 50) ** 2)
    sc, sh = 1 + 0.045 * cbp, 1 + 0.015 * cbp * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc
    return float(np.sqrt((dlp / sl) ** 2 + (dcp / sc) ** 2 + (d_hue / sh) ** 2 + rt * (dcp / sc) * (d_hue / sh)))


def difference(a: str, b: str, vision: str) -> float:
    return ciede2000(lab(seen(a, vision)), lab(seen(b, vision)))


def closest(pairs, colours) -> tuple[float, str]:
    """The smallest difference over ``pairs`` (names in ``colours``) and every vision, and what it was."""
    return min((difference(colours[a], colours[b], v), f"{a} vs {b} ({v})") for a, b in pairs for v in VISIONS)


# ---------------------------------------------------------------------------------------------- the measuring itself


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425), ((50, 0, 0), (50, -1, 2), 2.3669),
     ((50, 2.5, 0), (73, 25, -18), 27.1492), ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
     ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082), ((50, 2.5, 0), (50, 0, -2.5), 4.3065)],
)  # fmt: skip
def test_ciede2000_matches_the_published_test_pairs(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_simulations_keep_greys_and_confuse_what_they_should():
    for vision in DEFICIENCIES:
        assert np.allclose(seen("#808080", vision), _srgb("#808080"), atol=2 / 255), vision
    # Pure red and green collapse for a deuteranope far more than for typical vision; blue and yellow survive.
    assert difference("#ff0000", "#00ff00", "deuteranopia") < difference("#ff0000", "#00ff00", "typical") / 2
    assert difference("#0000ff", "#ffff00", "deuteranopia") > 50


# ---------------------------------------------------------------------------------------------- class colours

BENIGN, ATTACK = "Benign", "Attack"
ATTACK_FAMILIES = [c for c in CLASSES_6 if c != BENIGN]
ATTACK_CLASSES_19 = [c for c in CLASSES_19 if c != BENIGN]


def test_benign_and_attack_apart_with_every_vision():
    """The 2-class charts: benign against attack traffic reads at a glance with every colour vision."""
    worst, where = closest([(BENIGN, ATTACK)], F.CLASS_COLORS)
    assert worst >= 10, f"{where}: {worst:.1f}"


def test_benign_and_each_attack_family_apart_with_every_vision():
    worst, where = closest([(BENIGN, f) for f in ATTACK_FAMILIES], F.CLASS_COLORS)
    assert worst >= 10, f"{where}: {worst:.1f}"


def test_benign_and_each_19_class_attack_apart_with_every_vision():
    """The 19-class charts put Benign beside 18 shades of five hues; none may read as Benign. The first release's
    green Benign and light red DDoS-UDP differed by 2.3 for a deuteranope, light orange DoS-UDP by 2.0 for a
    protanope: the same colour."""
    worst, where = closest([(BENIGN, c) for c in ATTACK_CLASSES_19], F.CLASS_COLORS)
    assert worst >= 8, f"{where}: {worst:.1f}"


def test_attack_families_apart_with_every_vision():
    """Five attack families on one chart: the closest pair (violet Spoofing and magenta MQTT for a protanope: 6.2 in
    the first release) still differs."""
    worst, where = closest(itertools.combinations(ATTACK_FAMILIES, 2), F.CLASS_COLORS)
    assert worst >= 8, f"{where}: {worst:.1f}"


def test_neighbouring_shades_of_a_family_apart_with_every_vision():
    """Classes next to each other in the 19-class order (stacked bars, legends) are lighter and darker shades of one
    hue: a colour deficiency must not merge them."""
    pairs = [(a, b) for a, b in itertools.pairwise(CLASSES_19) if CATEGORY[a] == CATEGORY[b]]
    assert len(pairs) == 13
    worst, where = closest(pairs, F.CLASS_COLORS)
    assert worst >= 6.5, f"{where}: {worst:.1f}"


def test_metric_and_attribution_colours_apart_with_every_vision():
    """Precision, recall and F1 bars side by side; bars pushing towards or away from a class."""
    worst, where = closest(itertools.combinations(F._METRIC_COLORS, 2), F._METRIC_COLORS)
    assert worst >= 10, f"{where}: {worst:.1f}"
    push = {"towards": F._PUSH_UP, "away": F._PUSH_DOWN}
    worst, where = closest([("towards", "away")], push)
    assert worst >= 10, f"{where}: {worst:.1f}"


# ---------------------------------------------------------------------------------------------- colour scales


def _scale_lightness(colorscale, vision: str) -> np.ndarray:
    samples = pc.sample_colorscale([list(step) for step in colorscale], [i / 100 for i in range(101)])
    return np.array([lab(seen(c, vision))[0] for c in samples]), samples


def _assert_sequential(colorscale, what: str) -> None:
    for vision in VISIONS:
        lightness, samples = _scale_lightness(colorscale, vision)
        steps = np.diff(lightness)
        monotone = bool((steps > 0).all() or (steps < 0).all())
        assert monotone, (
            f"{what}: lightness not monotone for {vision} "
            f"({lightness[0]:.0f} at 0, {lightness[50]:.0f} at 0.5, {lightness[100]:.0f} at 1)"
        )
        ends = difference(samples[0], samples[-1], vision)
        assert ends >= 50, f"{what}: low and high ends differ by only {ends:.1f} for {vision}"


def test_f1_heatmap_scale_reads_low_to_high_with_every_vision():
    """'Low F1' and 'high F1' must survive: the first release's red-yellow-green scale was dark at both ends and
    F1 0 and F1 1 differed by 8 for a deuteranope."""
    report = evaluate(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 3, 2]), task=6, task_classes=CLASSES_6)
    score = ModelScore(name="a", family="a", task=6, report=report, rows_per_second=1000.0, fit_seconds=2.0)
    heatmap = F.per_class_f1_heatmap([score]).data[0]
    assert heatmap.texttemplate == "%{text}", "each cell still writes its F1"
    _assert_sequential(heatmap.colorscale, "per-class F1 heatmap")


def test_confusion_matrix_scale_reads_low_to_high_with_every_vision():
    report = evaluate(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 3, 2]), task=6, task_classes=CLASSES_6)
    _assert_sequential(F.confusion_figure(report).data[0].colorscale, "confusion matrix")


@pytest.mark.parametrize("models", range(2, 11))
def test_compared_models_apart_with_every_vision(models):
    """Each model's bars on the Compare page have a colour of their own, also to a colour-blind analyst: Plotly's
    palette gave the 1st and 4th of four models one blue for a protanope (difference 0.7)."""
    colours = dict(enumerate(F._model_colours(models)))
    worst, where = closest(itertools.combinations(colours, 2), colours)
    assert worst >= 10, f"models {where}: {worst:.1f}"
