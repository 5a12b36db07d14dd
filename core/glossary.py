"""Plain-language meaning of every feature of both CICIoMT2024 layouts, and of the scores: the one glossary.

Each row of the dataset summarises a short window of packets (see ``/work/shared/DESIGN.md``), so most
features are an average, a share or a count over that window. The wording follows the CICIoT2023 /
CICIoMT2024 feature descriptions, rewritten for readers who do not work with packet captures.
"""

from __future__ import annotations

from .schema import FEATURES_V1, FEATURES_V2
from .words import listed

_FLAG = "Share of packets in the window with the TCP {flag} flag set ({what})"
_PROTO = "Whether the window's packets use {name} ({what}): share of packets"

FEATURE_MEANINGS: dict[str, str] = {
    "Header_Length": "Length of the packet headers in the window (bytes): large for floods of small packets",
    "Protocol Type": "Network protocol number of the packets (1 = ICMP, 6 = TCP, 17 = UDP), averaged over the window",
    "Duration": "Time-to-live (TTL) of the packets, averaged: how many network hops a packet may still travel "
    "(named 'Duration' in the 45-feature release)",
    "Time_To_Live": "Time-to-live (TTL) of the packets, averaged: how many network hops a packet may still travel",
    "Rate": "Packets per second in the window: how fast traffic is sent",
    "Srate": "Outgoing packets per second in the window",
    "Drate": "Incoming packets per second in the window (always 0 in this dataset: carries no information)",
    "fin_flag_number": _FLAG.format(flag="FIN", what="the sender closes a connection"),
    "syn_flag_number": _FLAG.format(flag="SYN", what="a new connection is requested"),
    "rst_flag_number": _FLAG.format(flag="RST", what="a connection is reset or refused"),
    "psh_flag_number": _FLAG.format(flag="PSH", what="data is pushed straight to the application"),
    "ack_flag_number": _FLAG.format(flag="ACK", what="receipt of data is acknowledged"),
    "ece_flag_number": _FLAG.format(flag="ECE", what="network congestion is signalled"),
    "cwr_flag_number": _FLAG.format(flag="CWR", what="the sender slowed down after congestion"),
    "ack_count": "Packets with the ACK flag (acknowledgements) in the window",
    "syn_count": "Packets with the SYN flag (connection requests) in the window",
    "fin_count": "Packets with the FIN flag (connection closes) in the window",
    "rst_count": "Packets with the RST flag (connection resets) in the window",
    "HTTP": _PROTO.format(name="HTTP", what="unencrypted web traffic"),
    "HTTPS": _PROTO.format(name="HTTPS", what="encrypted web traffic"),
    "DNS": _PROTO.format(name="DNS", what="looking up names of computers"),
    "Telnet": _PROTO.format(name="Telnet", what="unencrypted remote login"),
    "SMTP": _PROTO.format(name="SMTP", what="sending e-mail"),
    "SSH": _PROTO.format(name="SSH", what="encrypted remote login"),
    "IRC": _PROTO.format(name="IRC", what="chat, also used to steer botnets"),
    "TCP": _PROTO.format(name="TCP", what="connection-based transport"),
    "UDP": _PROTO.format(name="UDP", what="connectionless transport, e.g. streaming or floods"),
    "DHCP": _PROTO.format(name="DHCP", what="handing out network addresses"),
    "ARP": _PROTO.format(name="ARP", what="finding a device's hardware address; abused by spoofing"),
    "ICMP": _PROTO.format(name="ICMP", what="ping and network error messages"),
    "IGMP": _PROTO.format(name="IGMP", what="joining multicast groups"),
    "IPv": _PROTO.format(name="IP", what="the Internet Protocol itself"),
    "LLC": _PROTO.format(name="LLC", what="a low-level link-layer protocol"),
    "Tot sum": "Sum of the packet sizes in the window (bytes)",
    "Min": "Smallest packet size in the window (bytes)",
    "Max": "Largest packet size in the window (bytes)",
    "AVG": "Average packet size in the window (bytes)",
    "Std": "Spread (standard deviation) of the packet sizes in the window",
    "Tot size": "Packet size (bytes), averaged over the window",
    "IAT": "Time between packets (inter-arrival time); also partly identifies the recording a row comes from",
    "Number": "Number of packets in the window",
    "Magnitue": "Size of incoming plus outgoing packets (square root of their average sizes; the dataset's spelling)",
    "Radius": "Spread of incoming and outgoing packet sizes (square root of their variances)",
    "Covariance": "How incoming and outgoing packet sizes vary together (covariance)",
    "Variance": "Spread of incoming packet sizes relative to outgoing ones (ratio of variances)",
    "Weight": "Number of incoming packets times number of outgoing packets",
}


def meaning(feature: str) -> str:
    """The plain-language meaning of ``feature``; the name itself when it is not a dataset feature."""
    return FEATURE_MEANINGS.get(feature, feature)


def missing_meanings() -> list[str]:
    """Features of either layout without a meaning (empty when the glossary is complete)."""
    return [f for f in dict.fromkeys(FEATURES_V1 + FEATURES_V2) if not FEATURE_MEANINGS.get(f)]


#: What an F1 score's number means, in one line, for a reader who has never met one.
SCORE_SCALE = "Scores run from 0 to 1: 1 means every row was given its true class."
#: Macro- and weighted-F1 in a few plain words each.
MACRO_F1_WORDS = "every kind of traffic counts the same, however rare"
WEIGHTED_F1_WORDS = "common kinds count more"
#: What one class's F1 score means, in a few plain words.
F1_WORDS = "a class's F1 is high only when the model finds most of its rows and is rarely wrong when it names it"
#: The tooltips of the headline scores, wherever a report's scores are shown: the words above, nowhere else reworded.
MACRO_F1_HELP = (f"Macro-F1: the F1 of each class, averaged so that {MACRO_F1_WORDS} ({F1_WORDS}). The score to look "
                 f"at first. {SCORE_SCALE}")  # fmt: skip
WEIGHTED_F1_HELP = (f"Weighted-F1: the F1 of each class, averaged so that {WEIGHTED_F1_WORDS}: the largest classes "
                    f"decide it. {SCORE_SCALE}")  # fmt: skip
#: Why macro-F1 comes first (one line, for captions and help texts).
ACCURACY_NOTE = (
    "Accuracy misleads on this data: the largest class has over 2,000 times the rows of the smallest, so a model "
    f"can be 99% accurate while missing a rare attack entirely. Macro-F1 does not: in it, {MACRO_F1_WORDS}."
)
#: What the model's confidence in a row is: the Analyze page's one word for it, said once where it is first used. The
#: predicted class's probability, not always the highest: under a saved alarm threshold a 2-class model can predict
#: Attack at a probability below 0.5 (``core.pipeline.Predictions.confidence``).
CONFIDENCE_WORDS = "Confidence: the probability, from 0 to 1, that the model gives the class it predicts for a row."
#: Short form of :data:`CONFIDENCE_WORDS`, for an axis title.
CONFIDENCE_SHORT = "probability of the predicted class"
#: What scores on the synthetic demo traffic say, and what they do not: the Analyze page's and the Overview's words.
DEMO_SCORES_MEANING = "the scores show that the tool works, not how it would do on a real hospital network."
#: The Analyze page's note under scores measured on demo traffic.
DEMO_SCORES_WORDS = f"These rows are synthetic demo traffic: {DEMO_SCORES_MEANING}"
#: How to read a permutation-importance chart ("Which features matter most"): the Analyze page's caption and the
#: reports', in the same words.
IMPORTANCE_WORDS = ("The measurements of the traffic this model leans on most to tell attacks apart: the longer a bar, "
                    "the more its verdicts depend on that feature; a bar near 0, it hardly uses it.")  # fmt: skip
#: How big a difference measured in standard deviations is ("What marks each attack"): the Analyze page's caption and
#: the chart's axis, in the same words (they said it twice: "about 1 modest, 3+ striking" on the axis).
SPREAD_SCALE = "about 1 is a modest difference, 3 or more a striking one"
#: Macro-F1 of a plain random forest on the full real CICIoMT2024 data (45-feature release, official train/test split),
#: by task, as published reproductions report it: the yardstick that tells a reader whether a score is good (the
#: paper's own CNN reaches about 0.71-0.75 at 19 classes; /work/shared/DESIGN.md, section 1).
PUBLISHED_MACRO_F1: dict[int, float] = {2: 0.985, 6: 0.95, 19: 0.92}


def score_yardstick(task: int | None = None) -> str:
    """One sentence on how good a macro-F1 is: the scale, and a random forest's published score of ``task`` (of every
    task when None) on the full real dataset."""
    tasks = [task] if task in PUBLISHED_MACRO_F1 else sorted(PUBLISHED_MACRO_F1, reverse=True)
    best = listed([f"{PUBLISHED_MACRO_F1[t]:g} at {t} classes" for t in tasks])
    return (
        f"{SCORE_SCALE} For scale, a well-set random forest reaches a macro-F1 of about {best} on the full real "
        "dataset (published results)."
    )
