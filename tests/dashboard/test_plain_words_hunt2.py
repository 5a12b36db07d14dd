"""The explanations and the alarm threshold of the Analyze page, read by a hospital manager who does not program
(second plain-words hunt; AppTest through the app's router on the demo traffic and the test registry's real models,
each failed before its fix):

- "Which features matter" said only that values are "shuffled ... the more macro-F1 drops";
- "Why this flow" said "Method: occlusion: each feature alone set back to its typical benign value";
- "What marks each attack" gave differences "in training standard deviations", in a tooltip, and nothing else;
- "Where to set the alarm" drew ROC and precision-recall curves with no word on how to read them, and the threshold
  slider did not say what the threshold is a threshold of.
"""

from __future__ import annotations

from core.glossary import MACRO_F1_WORDS
from tests.dashboard.test_plain_words_hunt import analyze_on_demo_traffic


def captions(at) -> list[tuple[str, str]]:
    """Each caption's text and tooltip."""
    return [(c.value, c.proto.help) for c in at.caption]


def test_features_and_the_flow_say_what_they_answer_and_how_to_read_the_bars(registry_env):
    at = analyze_on_demo_traffic(6, "test-rf-6class")
    at.toggle(key="analyze_explain_importance").set_value(True).run()
    shown = captions(at)
    text, help_text = next((t, h) for t, h in shown if "tell attacks apart" in t)
    assert "the longer a bar, the more its verdicts depend on that feature" in text, text
    assert "hardly uses it" in text and "macro-F1" not in text, text
    # The measure is kept, in a tooltip, with macro-F1 said in words.
    assert "shuffled" in help_text and MACRO_F1_WORDS in help_text, help_text
    text, help_text = next((t, h) for t, h in shown if t.startswith("What made the model call this flow "))
    assert "the longer the bar, the more that feature weighed" in text, text
    assert "Method:" not in text and "Typical benign values: median of the" in text, text
    assert help_text == "Method: occlusion: each feature alone set back to its typical benign value.", help_text


def test_what_marks_each_attack_says_what_a_standard_deviation_of_difference_means(registry_env):
    at = analyze_on_demo_traffic(19, "test-rf-19class")
    text = next(t for t, _ in captions(at) if t.startswith("How the chosen attack's flows differ from benign traffic"))
    assert "(right: higher, left: lower): the longest bars are its clearest signs" in text, text
    assert "standard deviations (the usual spread of a feature in the training data)" in text, text
    assert "about 1 is a modest difference, 3 or more a striking one" in text, text
    assert "standard deviations" not in at.selectbox(key="analyze_explain_class").help


def test_the_alarm_says_what_its_threshold_is_and_how_to_read_its_curves(registry_env):
    at = analyze_on_demo_traffic(2, "test-rf-2class")
    help_text = at.slider(key="analyze_alarm_threshold").help
    assert "probability of being an attack, from 0 to 1" in help_text and "raises an alarm" in help_text, help_text
    text = next(t for t, _ in captions(at) if t.startswith("The curves show every threshold at once"))
    assert "false alarms (benign flows flagged as attacks)" in text, text
    assert "the red cross is the slider's" in text and "the nearer the top-left corner, the better" in text, text
    assert "share of alarms that are real attacks" in text, text
