"""Product detection by name-word overlap fused with embedding similarity (no database: candidates given)."""

from support.services.product_detect import ProductCandidate, product_match

CATALOG = [
    ProductCandidate(id=1, brand="Strategicgear", model="Raptor Tactical Backpack", similarity=0.30),
    ProductCandidate(id=2, brand="Tactic Tech", model="StealthTrek Tactical Backpack", similarity=0.32),
    ProductCandidate(id=3, brand="TrailTech", model="TrailGPS 5000", similarity=0.20),
    ProductCandidate(id=4, brand="Adventure Link", model="Satellite Communicator 2000", similarity=0.25),
    ProductCandidate(id=5, brand="Hiker's Haven", model="Trailblazer 40L Backpack", similarity=0.31),
    ProductCandidate(id=6, brand="Adventure Pack", model="Trekker 30L Backpack", similarity=0.31),
    ProductCandidate(id=7, brand="Wild Guard", model="Outdoor First Aid Kit", similarity=0.05),
    ProductCandidate(id=8, brand="Power Up Tech", model="SolarPod 100", similarity=0.05),
]


def _closer(product_id: int, similarity: float = 0.45, catalog: list[ProductCandidate] = CATALOG) -> list[ProductCandidate]:
    """The catalog as the embedding of a message about `product_id` would rank it."""
    return [ProductCandidate(c.id, c.brand, c.model, similarity if c.id == product_id else c.similarity) for c in catalog]


def test_loose_names_typos_and_run_together_words_are_found():
    assert product_match("the raptor backpack's strap ripped", CATALOG)[0] == 1  # the name alone decides
    assert product_match("my trail gps wont turn on", _closer(3))[0] == 3
    assert product_match("satelite communicator subscription question", _closer(4))[0] == 4
    assert product_match("satelite communicator subscription question", _closer(3, 0.33))[0] == 4  # the name wins


def test_no_product_is_named_below_the_confidence():
    product, confidence = product_match("where is my parcel? it is late", CATALOG)

    assert product is None and confidence < 0.9


def test_an_everyday_word_or_a_number_alone_names_no_product():
    # a catalog the size of a shop's, where a word only one product has weighs as much as in the demo's 200
    shop = CATALOG + [ProductCandidate(id=100 + i, brand=f"Brand{i}", model=f"Model{i}", similarity=0.0) for i in range(60)]

    assert product_match("do first-time buyers get free shipping?", shop)[0] is None
    assert product_match("I paid 100 dollars twice, please check", shop)[0] is None
    assert product_match("the first aid kit was missing its scissors", _closer(7, 0.40, shop))[0] == 7  # more than one name word
    assert product_match("is the solarpod 100 waterproof?", _closer(8, 0.40, shop))[0] == 8  # a name word beside the number


def test_my_prefers_the_customers_own_product():
    text = "my backpack's buckle broke"

    assert product_match(text, CATALOG)[0] is None  # four backpacks: too unsure to name one
    assert product_match(text, CATALOG, ordered_ids={6, 3})[0] == 6  # the one backpack they ordered
    assert product_match("the backpack's buckle broke", CATALOG, ordered_ids={6})[0] is None  # not "my ..."
