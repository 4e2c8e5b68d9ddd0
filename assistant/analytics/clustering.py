"""Groups questions that ask the same thing: average-linkage clustering on cosine similarity.

Average linkage keeps a group together only while its members are, on average, as similar as
the threshold, so a chain of loosely related questions does not collapse into one group the
way single linkage (connected components) would.
"""

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from assistant.text_units import content_words, stem


def cluster(vectors: np.ndarray, *, min_similarity: float) -> list[list[int]]:
    """Row indices of `vectors` (unit length) grouped so that the members of a group have at
    least `min_similarity` average cosine similarity; largest group first."""
    count = len(vectors)
    if count == 0:
        return []
    if count == 1:
        return [[0]]
    distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
    condensed = distances[np.triu_indices(count, k=1)]
    tree = linkage(condensed, method="average")
    labels = fcluster(tree, t=1.0 - min_similarity, criterion="distance")
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def centroid(vectors: np.ndarray) -> np.ndarray:
    """The unit-length mean direction of the rows."""
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def medoid(vectors: np.ndarray) -> int:
    """Index of the row closest to the group's centroid: its most representative member."""
    return int(np.argmax(vectors @ centroid(vectors)))


def top_terms(texts: Sequence[str], *, limit: int = 4) -> list[str]:
    """The content words most of the texts share, most frequent first (ties alphabetical).
    Forms of one word count together ("invoice", "invoices") and show as the most used one."""
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    for text in texts:
        words = content_words(text)
        counts.update({stem(word) for word in words})
        for word in words:
            forms.setdefault(stem(word), Counter())[word] += 1
    shown = {s: min(f.items(), key=lambda item: (-item[1], item[0]))[0] for s, f in forms.items()}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], shown[item[0]]))
    return [shown[term] for term, _ in ranked[:limit]]
