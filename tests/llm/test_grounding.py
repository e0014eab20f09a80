"""The grounding rules, one by one (pure functions: no model)."""

import pytest

from llm.services.grounding import (
    Claim,
    GroundingPassage,
    asked_in,
    asks_several,
    claim_problem,
    condition_differs,
    content_words,
    counterpart_unmentioned,
    frequencies_in,
    normalise,
    numbers_in,
    on_topic,
    quote_found,
    sentence_with_citation,
    ungrounded_terms,
)

HEADLAMP = GroundingPassage(text="GloTech Rechargeable LED Headlamp — User Manual, page 1\n| Charging time | about 3 hours (5 V / 1 A) |\n"
                                 "| Weight | 78 g including headband |\nFor storage, top up every six months.", brand="GloTech")
CONTACT = GroundingPassage(text="Contacting Customer Support\nPhone: +1 555 0100, Monday-Friday 8 am-6 pm Eastern Time.", kind="policy")
PASSAGES = {1: HEADLAMP, 2: CONTACT}
BRANDS = ["GloTech", "Ecovolt", "Adventure Link"]


def test_numbers_are_normalised_so_words_and_digits_match():
    assert normalise("Six months, 1,500 liters, 4K60") == "6 months 1500 liters 4 k 60"
    assert numbers_in("twice in 2.5 hours") == {"2", "2.5"}
    assert not ungrounded_terms("Top it up every 6 months.", HEADLAMP.text)


def test_a_number_not_in_the_cited_passage_removes_the_sentence():
    claim = Claim(cite=1, quote="about 3 hours", text="It costs 15 euros and charges in 3 hours.")

    assert "15" in claim_problem(claim, PASSAGES, brands=BRANDS)


def test_a_weight_the_passage_does_not_give_is_ungrounded():
    claim = Claim(cite=1, quote="78 g including headband", text="It weighs 30 pounds.")

    problem = claim_problem(claim, PASSAGES, brands=BRANDS)

    assert "30" in problem and "pounds" in problem


def test_a_price_in_a_currency_the_passage_never_names_is_ungrounded():
    passage = GroundingPassage(text="The lamp costs 40 dollars.")

    assert ungrounded_terms("It costs 40 euros.", passage.text) == ["euros"]
    assert ungrounded_terms("It costs $40.", passage.text) == []


def test_emails_urls_and_part_numbers_must_be_in_the_passage():
    text = "Write to help@glotech.example or order part GT-HB-X at www.glotech.example."

    assert set(ungrounded_terms(text, HEADLAMP.text)) == {"help@glotech.example", "GT-HB-X", "www.glotech.example."}


def test_a_quote_must_occur_in_the_cited_passage():
    assert quote_found("about 3 HOURS (5 V / 1 A)", HEADLAMP.text)
    assert not quote_found("charges in 2 hours", HEADLAMP.text)
    assert not quote_found("", HEADLAMP.text)
    assert not quote_found(" ".join(["word"] * 20), " ".join(["word"] * 40)), "a quote is short"
    twelve = "A message normally goes out within 1-2 minutes with a clear"
    assert quote_found(twelve, f"{twelve} sky."), "words are counted as written, not as normalised (1-2 -> 1 2)"


def test_a_claim_whose_quote_is_not_found_is_dropped():
    claim = Claim(cite=1, quote="a full charge takes 3 hours", text="A full charge takes 3 hours.")

    assert claim_problem(claim, PASSAGES) == "quote not in the cited passage"


def test_an_answer_that_is_only_a_citation_says_nothing():
    assert claim_problem(Claim(cite=1, quote="about 3 hours", text="[1]"), PASSAGES) == "says nothing"
    assert claim_problem(Claim(cite=1, quote="about 3 hours", text=" . [1]."), PASSAGES) == "says nothing"


def test_a_citation_to_a_passage_not_given_is_refused():
    assert claim_problem(Claim(cite=7, quote="x", text="It charges in 3 hours."), PASSAGES) == "cites a passage that was not given"


def test_the_citation_sits_inside_its_sentence_once_never_trailing():
    assert sentence_with_citation("It charges in about 3 hours [1]. [1]", 1) == "It charges in about 3 hours [1]."
    assert sentence_with_citation("It charges in about 3 hours", 2) == "It charges in about 3 hours [2]."
    assert sentence_with_citation("Is it locked? [1]", 1) == "Is it locked [1]?"
    assert sentence_with_citation("Then click **Reset my PIN?**.", 3) == "Then click Reset my PIN? [3]."
    assert sentence_with_citation("It floats!!", 1) == "It floats [1]!!"
    assert sentence_with_citation("2. Screw the lid on tight.", 1) == "Screw the lid on tight [1]."
    assert sentence_with_citation("- fill the bag", 1) == "Fill the bag [1]."
    assert sentence_with_citation("1.5 kg in all.", 1) == "1.5 kg in all [1]."


def test_table_bars_copied_from_a_passage_read_as_prose():
    assert sentence_with_citation("The total output, all ports | 36 W", 2) == "The total output, all ports: 36 W [2]."
    assert sentence_with_citation("| High | 400 lm | 2.5 hours |", 1) == "High: 400 lm, 2.5 hours [1]."
    assert sentence_with_citation("It records for about **25 minutes**", 3) == "It records for about 25 minutes [3]."


def test_a_sentence_starts_with_a_capital_unless_its_first_word_is_cased_on_purpose():
    assert sentence_with_citation("red, blinking | charging, below 50%", 2) == "Red, blinking: charging, below 50% [2]."
    assert sentence_with_citation("or a GPS watch about 12 times", 1) == "Or a GPS watch about 12 times [1]."
    assert sentence_with_citation("microSD, up to 512 GB", 1) == "microSD, up to 512 GB [1]."
    assert sentence_with_citation("iPhone 15 and later", 1) == "iPhone 15 and later [1]."
    assert sentence_with_citation("5 V / 2 A charger", 1) == "5 V / 2 A charger [1]."


def test_another_brand_named_in_the_sentence_is_unsupported():
    claim = Claim(cite=1, quote="about 3 hours", text="The Ecovolt power bank charges in about 3 hours.")

    assert "Ecovolt" in claim_problem(claim, PASSAGES, brands=BRANDS)


def test_a_shop_policy_does_not_answer_a_question_about_a_brands_own_support():
    claim = Claim(cite=2, quote="Monday-Friday 8 am-6 pm", text="Phone support is open Monday-Friday 8 am-6 pm.")

    problem = claim_problem(claim, PASSAGES, question="What are Adventure Link's phone support hours?", brands=BRANDS)

    assert problem == "a shop policy cited for a question about Adventure Link"
    # the same policy answers a question about the shop itself
    assert claim_problem(claim, PASSAGES, question="when is your phone support open?", brands=BRANDS) is None


def test_a_policy_still_answers_a_shop_matter_about_a_brands_product():
    returns = GroundingPassage(text="Returns policy\nYou can return an item within 30 days of delivery.", kind="policy")
    claim = Claim(cite=3, quote="within 30 days of delivery", text="You can return it within 30 days of delivery.")

    assert claim_problem(claim, {3: returns}, question="can I return my GloTech headlamp?", brands=BRANDS) is None


def test_a_grounded_claim_holds():
    claim = Claim(cite=1, quote="about 3 hours (5 V / 1 A)", text="A full charge takes about three hours [1].")

    assert claim_problem(claim, PASSAGES, question="how long to charge the glotech?", brands=BRANDS) is None


def test_a_true_sentence_about_something_else_is_not_on_topic():
    claim = Claim(cite=1, quote="78 g including headband", text="The GloTech headlamp weighs 78 g.")

    assert not on_topic(claim, "What does the GloTech headlamp cost in euros?", "GloTech Rechargeable LED Headlamp")
    assert on_topic(claim, "the glotech's weight with the band?", "GloTech")
    assert on_topic(claim, "GloTech?", "GloTech"), "no key word left: nothing to check"


def test_a_plural_or_third_person_s_is_the_same_word_even_when_short():
    claim = Claim(cite=1, quote="Fits people up to", text="The bag fits people up to 180 cm.")

    assert on_topic(claim, "would my son fit in it? hes tall", "Snowline bag")
    assert content_words("pots cups fits glass less") == {"pot", "cup", "fit", "glass", "less"}


def test_a_sentence_that_shares_no_word_is_on_topic_when_close_in_meaning():
    claim = Claim(cite=1, quote="Air travel: below the 100 Wh limit", text="It is allowed in carry-on bags [1].")
    asked, close = [], set()

    def close_in_meaning(text):
        asked.append(text)
        return text in close

    assert not on_topic(claim, "may I fly with the lantern?", "Lumo", close_in_meaning)
    assert asked == ["It is allowed in carry-on bags."], "the sentence as the customer reads it (no citation)"
    close.add("It is allowed in carry-on bags.")
    assert on_topic(claim, "may I fly with the lantern?", "Lumo", close_in_meaning)
    assert not on_topic(claim, "may I fly with the lantern?", "Lumo"), "no judge of meaning given: words decide"


def test_a_follow_up_asks_in_its_own_words_and_is_about_its_focus_too():
    claim = Claim(cite=1, quote="The hollow-fibre membrane removes bacteria", text="It removes bacteria and protozoa, not viruses.")
    focus = "How heavy is the AquaMax filter? does it get rid of viruses too?"  # the earlier question read with it

    assert on_topic(claim, "does it get rid of viruses too?", focus=focus), "the earlier 'how heavy' asks this turn for no figure"
    assert on_topic(Claim(cite=1, quote="", text="The AquaMax filter weighs 310 g."), "and the weight?", focus="AquaMax filter")
    assert not on_topic(Claim(cite=1, quote="", text="The bag holds water."), "and how long does it last?", focus=focus)


def test_a_frequency_without_a_digit_answers_how_often():
    claim = Claim(cite=1, quote="", text="In eco mode the station updates the forecast only once an hour.")

    assert on_topic(claim, "how often does it update the forecast in eco mode?")
    assert on_topic(Claim(cite=1, quote="", text="Rinse the filter after every trip."), "how often should i rinse the filter")
    assert not on_topic(claim, "how long does the battery last in eco mode?"), "a duration is asked: a frequency is no figure"
    assert not on_topic(Claim(cite=1, quote="", text="Rinse the filter after every trip."),
                        "i rinse it after every trip, how often should i swap the cartridge?"), "the customer's own frequency"
    assert not on_topic(Claim(cite=1, quote="", text="Once an order ships, it cannot be changed."),
                        "how often do you ship orders?"), "'once' as 'when' is no frequency"


@pytest.mark.parametrize(("text", "found"), [
    ("", set()),
    ("Checks <b>ONCE   AN\nHOUR</b>", {"once an hour"}),  # markup, capitals and line breaks
    ("Ｒｉｎｓｅ after every\u00a0trip", {"every trip"}),  # full-width letters, a no-break space
    ("once upon a time, every" * 2000, set()),  # long text without a frequency
])
def test_frequencies_are_read_from_any_text(text, found):
    assert frequencies_in(text) == found


def test_closeness_in_meaning_does_not_excuse_a_missing_figure():
    claim = Claim(cite=1, quote="Charge it fully before your first trip", text="Charge it fully before the first trip.")

    assert not on_topic(claim, "how long does a full charge take?", "", lambda text: True)


@pytest.mark.parametrize(("question", "wanted"), [
    ("what wind speed can the tent take, in km/h?", {"km/h"}),
    ("How many BTU does the simmer setting give?", {"figure", "btu"}),
    ("how many hours does it run on low?", {"figure", "hour"}),
    ("how much is the service plan per month?", {"price"}),
    ("does the SOS rescue cost extra?", {"price"}),
    ("What does the headlamp cost in euros?", {"price", "currency:euro"}),
    ("how long does it take to charge?", {"figure"}),
    ("What are the phone support hours?", {"time"}),  # a time or the days, not the unit "hour"
    ("when is your store open on sundays?", {"time"}),
    ("is there a rain cover that fits, what's the part no.?", {"code"}),  # the code itself
    ("how much does it weigh?", {"weight"}),  # a weight, not any figure
    ("how far does the beam reach on low?", {"figure", "distance"}),
    ("how far in advance do I need to order?", {"figure"}),
    ("how long to charge and how heavy is it?", {"figure"}),  # two asks: each sentence answers one
    ("can I pay in installments?", set()),
    ("do you stock spare buckles? how much", {"price"}),  # "how much" with nothing after it asks a price
    ("how much for a second battery?", {"price"}),
    ("how much water does the bag hold?", set()),
    ("will a second layer keep it warmer, and by how much?", set()),
    ("is it under 50 euros?", {"price"}),
    ("is the plan still $14.99 a month?", {"price"}),
    ("my basket comes to $60. do you deliver to alaska", set()),  # a sum of the customer's own case asks no price
    ("the last shop charged me 30 euros at the door. does the courier collect duties here?", set()),
])
def test_what_a_question_asks_its_answer_in(question, wanted):
    assert asked_in(question) == wanted


@pytest.mark.parametrize(("text", "question", "expected"), [
    ("The tent is rated for winds of 50 km/h.", "what wind speed can it take, in km/h?", True),
    ("Use the guy lines in wind stronger than a light breeze.", "what wind speed can it take, in km/h?", False),
    ("It runs 30 h on Low.", "how many hours does it run on Low?", True),
    ("Charge it fully before your first trip.", "and how long does it take to charge?", False),
    ("A full charge takes about three hours.", "and how long does it take to charge?", True),
    ("Charge it fully before your first trip [2].", "and how long does it take to charge?", False),  # a citation is no figure
    ("Tracking every 10 minutes [1].", "how long does the battery last if it tracks every 10 min?", False),  # its own figure
    ("At one fix every 10 minutes it lasts about 36 hours [1].", "how long does the battery last if it tracks every 10 min?", True),
    ("SOS rescue is included in every plan.", "does the SOS rescue cost extra on top of the plan?", True),
    ("An active plan is required for SOS.", "how much is the plan per month?", False),
    ("The plan is $14.99 per month.", "how much is the plan per month?", True),
    ("The headlamp sells for $56.94.", "What does the headlamp cost in euros?", False),
    ("The headlamp sells for 52 euros.", "What does the headlamp cost in euros?", True),
    ("You need the IMEI number shown on the back label.", "What are Adventure Link's phone support hours?", False),
    ("Phone support is open Monday-Friday [2].", "What are the phone support hours?", True),
    ("Phone support answers from 8 am to 6 pm.", "What are the phone support hours?", True),
    ("The rain cover clips onto the frame.", "is there a rain cover for it, what's the part number?", False),
    ("The rain cover is part no. RC-45-G.", "is there a rain cover for it, what's the part number?", True),
    ("Swap the insert every 150 liters or 2 months.", "what's the part no. of a spare insert?", False),  # a measure
    ("The spare insert is part no. 4471.", "what's the part no. of a spare insert?", True),
])
def test_an_answer_gives_the_unit_or_price_its_question_asks_in(text, question, expected):
    assert on_topic(Claim(cite=1, quote="", text=text), question) is expected


@pytest.mark.parametrize(("text", "question", "expected"), [
    ("On Low it runs for 40 hours.", "how far does the beam reach on low?", False),
    ("The beam reaches 60 m on Low.", "how far does the beam reach on low?", True),
    ("The stuff sack protects the bag.", "how much does the stuff sack weigh by itself", False),
    ("The stuff sack weighs 120 g.", "how much does the stuff sack weigh by itself", True),
])
def test_a_distance_or_weight_asked_for_is_answered_in_its_kind_of_unit(text, question, expected):
    claim = Claim(cite=1, quote=text, text=text)
    assert on_topic(claim, question) is expected


@pytest.mark.parametrize(("line", "question", "differs"), [
    ("Video 4K 24 fps | 75 minutes", "how long does one battery last filming at 50fps?", ["24 fps (asked: 50)"]),
    ("Position every 5 min | about 4 days", "battery life when it logs a position every 20 minutes?", ["5 minute (asked: 20)"]),
    ("Position every 20 min | about 9 days", "battery life when it logs a position every 20 minutes?", []),
    ("Rated to | 2 °C / 36 °F", "is it warm enough at 5 degrees", []),  # not a setting: the value the customer compares
    ("Max load | 25 kg", "will it hold my 30 kg pack", []),  # the figure is the row's value, not its setting
    ("Charging at 5 V takes about 4 hours.", "how long to charge at 9 V?", []),  # not a table row
])
def test_a_table_row_given_for_another_setting_than_asked_differs(line, question, differs):
    assert condition_differs(line, question) == differs


def test_a_figure_the_passage_gives_for_something_else_is_unsupported():
    stove = GroundingPassage(text="Backcountry Cook Propane Camp Stove — User Manual, page 2\n"
                                  "| Burners | 2 × 10,000 BTU/h (20,000 BTU/h total) |")
    claim = Claim(cite=1, quote="20,000 BTU/h total", text="The lowest simmer setting is 20,000 BTU/h.")

    problem = claim_problem(claim, {1: stove}, question="How many BTU is the lowest simmer setting on the Backcountry stove?")

    assert problem == "gives its figure for lowest, sett, simmer, which the cited passage does not mention"
    # the same figure for what the passage says it is holds, and so does a sentence with no figure
    total = Claim(cite=1, quote="20,000 BTU/h total", text="Both burners together give 20,000 BTU/h.")
    assert claim_problem(total, {1: stove}, question="how many BTU do the burners give in total?") is None
    plain = Claim(cite=1, quote="20,000 BTU/h total", text="The lowest setting of the burners is not listed.")
    assert claim_problem(plain, {1: stove}, question="How many BTU is the lowest simmer setting?") is None


def test_the_product_name_is_not_a_thing_a_figure_is_given_for():
    claim = Claim(cite=1, quote="about 3 hours", text="The GloTech headlamp charges in about 3 hours.")

    assert claim_problem(claim, PASSAGES, question="how long does the glotech headlamp take to charge?",
                         name_words="GloTech Rechargeable LED Headlamp") is None


def test_a_manual_that_never_names_what_a_compatibility_question_asks_about_does_not_answer_it():
    bank = GroundingPassage(text="Ecovolt SolarBoost manual, page 2\n| Total output, all ports | 36 W |\n"
                                 "A full charge tops up a typical smartphone about 4 times.", brand="Ecovolt")
    true_but_beside = Claim(cite=1, quote="Total output, all ports | 36 W", text="The total output is 36 W.")

    problem = claim_problem(true_but_beside, {1: bank}, question="Can the Ecovolt SolarBoost charge my MacBook Pro 16 inch?",
                            brands=BRANDS, name_words="Ecovolt SolarBoost")

    assert problem == "the cited passage never mentions macbook pro inch, which the question asks it to work with"
    # what the manual does name is answered ("phone" is in "smartphone"), and other questions are not touched
    assert counterpart_unmentioned("will it charge my phone?", bank.text) == []
    assert counterpart_unmentioned("how much power does it give?", bank.text) == []
    assert counterpart_unmentioned("can it charge my smartphone when the sun is out?", bank.text) == []  # the thing ends at "when"
    assert counterpart_unmentioned("is it compatible with Petzl helmet clips?", "Fits most helmets with the clips.") == ["petzl"]


def test_a_sentence_that_says_the_customers_words_back_is_not_an_answer():
    stove = GroundingPassage(text="Camp stove manual, page 4\n| Flame goes out in wind | Use the wind screen. |")
    question = "the flame keeps dying whenever a gust hits, my kids are hungry and grumpy, what do i do"
    echo = Claim(cite=1, quote="Flame goes out in wind", text="Your kids are hungry and grumpy when a gust hits.")

    assert claim_problem(echo, {1: stove}, question=question) == (
        "repeats the customer's words (grumpy, gust, hit, hungry, kid), which the cited passage does not use")
    answer = Claim(cite=1, quote="Flame goes out in wind", text="When the flame goes out in wind, use the wind screen.")
    assert claim_problem(answer, {1: stove}, question=question) is None
    # an echoed word or two is a rewording, not the question said back
    assert claim_problem(Claim(cite=1, quote="Flame goes out in wind", text="In gusts, use the wind screen."),
                         {1: stove}, question=question) is None


def test_a_sentence_that_shares_no_word_with_its_passage_is_not_backed_by_it():
    lantern = GroundingPassage(text="Lantern manual, page 2\nHold the switch for 2 seconds to turn the lantern on. "
                                    "The ring glows green when the battery is full.")
    invented = Claim(cite=1, quote="Hold the switch for 2 seconds", text="Refunds reach your card within a week.")

    assert claim_problem(invented, {1: lantern}) == (
        "shares no word with the cited passage (card, reach, refund, week, within)")
    assert claim_problem(Claim(cite=1, quote="Hold the switch for 2 seconds", text="Moonlight mode exists."),
                         {1: lantern}) is not None  # two words, neither the manual's
    # a rewording that keeps one word of its passage is judged by the other checks, not this one
    assert claim_problem(Claim(cite=1, quote="The ring glows green", text="A green light means it is charged."),
                         {1: lantern}) is None


def test_an_app_or_device_a_question_asks_it_to_sync_or_pair_with_must_be_named_by_the_passage():
    logger = "Tracks are uploaded to the TrailLog app when the phone is near. Pair it under Menu > Phone."

    assert counterpart_unmentioned("does it upload my tracks to trailforks or just its own app?", logger) == ["trailforks"]
    assert counterpart_unmentioned("can I pair the logger with my suunto watch?", logger) == ["suunto", "watch"]
    assert counterpart_unmentioned("will it sync my tracks with the phone?", logger) == []
    assert counterpart_unmentioned("how do I pair it?", logger) == []


@pytest.mark.parametrize("question, several", [
    ("how heavy is it and is it waterproof?", True), ("What does it weigh? Does it float?", True),
    ("whats the max length of a message?", False), ("how long to charge it from empty then", False),
    ("Do you ship to Canada and how long does it take?", True), ("is it black and white?", False),
    ("ok and how long does it take to charge?", False), ("and can it charge my phone while charging itself?", False)])
def test_a_question_that_asks_several_things_is_told_apart(question, several):
    assert asks_several(question) is several
