"""Three toy questions, their passages, and a corpus to train tiny tokenizers on."""

CITIES = [("paris", "france"), ("berlin", "germany"), ("london", "england")]


def toy_texts():
    """(question, answer, positive (title, text), negatives) of three toy questions."""
    rows = []
    for city, country in CITIES:
        positive = (city.title(), f"the king was born in the city of {city} . {city} is the capital of {country} "
                                  "and its largest city .")
        negatives = [(other.title(), f"the music of {other} is called world music by many people .")
                     for other, _ in CITIES if other != city]
        rows.append((f"what is the capital of {country}", city, positive, negatives))
    return rows


def corpus():
    texts = [text for _, _, positive, negatives in toy_texts() for _, text in [positive, *negatives]]
    texts += [question for question, *_ in toy_texts()] + [title.title() for title, _ in CITIES]
    return texts * 20
