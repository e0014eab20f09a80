"""What a chat turn is answered from: its conversation context, its numbered sources, its instant quote.

Pure reads of the database and the knowledge index (no model but MiniLM for the query vector), so
they run where a busy llm queue cannot delay them: in the web process right after the question is
committed (support.services.chat.chat_turn_prepare), and again in the llm worker.

A follow-up ("and how long does it take to charge?") is rewritten by rules into a standalone
question: the product in focus (the page's product, else the one the question names, else the one
of the previous turns) is put in front of it and narrows the search; a short follow-up about no product,
or asked on a product's page ("and if it hangs lower?"), is read together with the previous question. A
policy question is not a product's ("and can I return it?" is searched without the product's name, which
would pull its manual ahead of the returns policy), and a follow-up to a question about returning or ordering
a product is read with that question rather than the product's name. The prompt then holds the last turns as
history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.urls import reverse

from core.jobs import JobStatus
from eshop.services.orders import ORDER_NUMBER_RE
from llm.services.answer import Passage, best_sentence, relevance, rows_naming_the_ask, sentence_match
from llm.services.grounding import is_shop_matter, looks_like_injection
from support.models import ChatTurn, KnowledgeChunk, KnowledgeDocument
from support.models.chat import ConversationKind
from support.models.knowledge import DocumentKind
from support.selectors.knowledge import knowledge_product_named, knowledge_search

INSTANT_QUOTE_PASSAGES = 2  # the instant quote is the best sentence of the first passages
CHAT_PASSAGES = 3  # at most, per answer: each costs prompt time (about 1 s per 60 tokens on 2 AVX2 cores)
CHAT_CANDIDATES = 8  # passages found, of which the first CHAT_PASSAGES answer (one may give way: _with_the_named_row)
CHAT_ORDER_PASSAGES = 3
PASSAGE_MIN_SHARE = 0.45  # a passage whose fused score is below this share of the best one is left out
# (0.5 is a passage ranked first by one of the two rankers only, when the best is first in both: kept)
HISTORY_TURNS = 2
_ORDER_QUESTION = re.compile(
    r"\b(my|mine|i|we)\b[^.?!]{0,60}\b(order|orders|package|parcel|delivery|shipment|tracking|shipped|arrive|purchase)"
    r"|\b(order|package|parcel|shipment|delivery)\b[^.?!]{0,40}\b(status|arrive|where|late|track)"
    r"|\bwhere\s+is\s+my\b",
    re.IGNORECASE,
)
_FOLLOW_UP = re.compile(r"^\s*(and|also|ok|okay|so|then|what about|how about|but)\b|\b(it|its|it's|they|them|that one|this one)\b",
                        re.IGNORECASE)

_MAKERS_MATTER = re.compile(r"\b(warrant\w*|guarantee\w*)\b", re.IGNORECASE)

# The agent's assistant: a ticket is usually a complaint, not a question. Its greetings, thanks and
# feelings are left out and its symptoms said the way manuals' troubleshooting tables say them.
_NOT_A_SYMPTOM = re.compile(
    r"^\s*(hi|hello|hey|dear|thanks|thank you|regards|best|cheers|kind regards)\b|\b(unacceptable|ridiculous|disappointed|"
    r"angry|furious|annoyed|frustrated|worst|never again|waste of money)\b", re.IGNORECASE)
_SYMPTOMS = [
    (re.compile(r"\b(stopped|stops|won'?t|will not|doesn'?t|does not|isn'?t|not)\s+(charg\w*)", re.IGNORECASE), "not charging"),
    (re.compile(r"\b(won'?t|will not|doesn'?t|does not|can'?t)\s+(turn|switch|power)\s+on\b|\bdead\b", re.IGNORECASE),
     "does not turn on"),
    (re.compile(r"\b(blink\w*|flash\w*|flicker\w*)\b", re.IGNORECASE), "indicator LED blinking"),
    (re.compile(r"\b(leak\w*|drip\w*|wet inside)\b", re.IGNORECASE), "leaking water"),
    (re.compile(r"\b(slow|trickle)\b", re.IGNORECASE), "slow flow"),
]


def complaint_to_question(text: str, product_name: str = "") -> str:
    """A search question from a ticket: its symptom sentences, with the manual's words for them,
    as a troubleshooting question about the product ("it blinks red and stopped charging" ->
    "GloTech ...: troubleshooting: not charging, indicator LED blinking. it blinks red and stopped charging")."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    kept = [s for s in sentences if not _NOT_A_SYMPTOM.search(s)] or sentences
    terms = list(dict.fromkeys(term for pattern, term in _SYMPTOMS for s in kept if pattern.search(s)))
    focus = f"{product_name}: " if product_name else ""
    lead = f"troubleshooting: {', '.join(terms)}. " if terms else "troubleshooting: "
    return f"{focus}{lead}{' '.join(kept)}"[:2_000]


# A tracker's own tracking ("if i put it on the 1 minute live tracking", "how do i start tracking"): a product
# question, not one about an order's tracking (found by the answers evaluation's fresh tune rows, 2026-12-02: an
# anonymous customer asking about a GPS tracker's battery was asked to sign in).
_DEVICE_TRACKING = re.compile(r"\b(?:live|gps|location|start|stop|satellite|minutes?|seconds?|hours?)\s+tracking\b"
                              r"|\btracking\s+(?:mode|interval|every|on\s+the)\b", re.IGNORECASE)


# "I ordered the Summit 45L, how do I adjust the back length?": the purchase is only how the customer came to
# the product; unless the message also says something about the order itself (its delivery, a change, a refund,
# the invoice), it is a product question, which an anonymous customer is not asked to sign in for.
_PURCHASE_SAID_IN_PASSING = re.compile(
    r"\b(?:i|we)(?:'ve|\s+have)?\s+(?:just\s+|recently\s+|finally\s+)?(?:ordered|purchased|bought)\b", re.IGNORECASE)
_ABOUT_THE_ORDER_ITSELF = re.compile(
    r"\b(arriv\w*|deliver\w*|ship\w*|track\w*|status|dispatch\w*|cancel\w*|refund\w*|return\w*|exchange\w*|"
    r"invoice|receipt|charged|payment|paid|wrong|missing|never\s+(?:came|got|received)|received|receive|late|"
    r"change\s+(?:my|the)\s+(?:order|address|size)|order\s+number|package|parcel|where\s+is|when\s+will)\b",
    re.IGNORECASE)


def is_order_question(question: str) -> bool:
    """Whether the question is about the customer's own orders (their status, delivery, tracking number)."""
    if ORDER_NUMBER_RE.search(question):
        return True
    text = _DEVICE_TRACKING.sub(" ", question)
    if not _ABOUT_THE_ORDER_ITSELF.search(text):
        text = _PURCHASE_SAID_IN_PASSING.sub(" ", text)
    return bool(_ORDER_QUESTION.search(text))


@dataclass(frozen=True)
class ChatSource:
    n: int
    text: str
    source: str
    url: str
    kind: str
    chunk_id: int | None = None
    document: str = ""
    heading: str = ""
    page: int | None = None
    score: float | None = None
    brand: str = ""

    def card(self) -> dict:
        """What is stored on the turn and sent to the browser (no passage text for orders: the card suffices)."""
        return {"n": self.n, "kind": self.kind, "chunk_id": self.chunk_id, "document": self.document, "heading": self.heading,
                "page": self.page, "url": self.url, "score": self.score, "title": self.source,
                "excerpt": self.text[:240]}


@dataclass
class TurnContext:
    """The turn as the answer sees it: the standalone question it is searched with, the product in
    focus, and the earlier turns of the conversation ([{"question", "answer"}], oldest first)."""

    question: str
    standalone: str
    product_id: int | None = None
    product_name: str = ""
    history: list[dict] = field(default_factory=list)


def _is_policy_question(question: str) -> bool:
    """A shop matter only the policies answer (returns, delivery, payment); a warranty is the maker's too (its manual)."""
    return is_shop_matter(question) and not _MAKERS_MATTER.search(question)


def _product_of_turn(turn: ChatTurn) -> int | None:
    """The product a turn was about: its page, the product it names, or its first manual source."""
    if turn.product_id:
        return turn.product_id
    named = knowledge_product_named(query=turn.question)
    if named:
        return named
    chunk_ids = [card.get("chunk_id") for card in turn.sources or [] if card.get("kind") == DocumentKind.MANUAL]
    if chunk_ids and chunk_ids[0]:
        return KnowledgeChunk.objects.filter(pk=chunk_ids[0]).values_list("product_id", flat=True).first()
    return None


def chat_turn_context(*, turn: ChatTurn) -> TurnContext:
    """The standalone question, product in focus and history of a turn (rules, no model: see module doc)."""
    from eshop.models import Product

    question = turn.question[:2_000]
    earlier = list(ChatTurn.objects.filter(conversation_id=turn.conversation_id, id__lt=turn.pk, status=JobStatus.DONE)
                   .order_by("-id")[:HISTORY_TURNS])[::-1]
    history = [{"question": t.question[:2_000], "answer": t.answer} for t in earlier]
    product_id = turn.product_id or knowledge_product_named(query=question)
    named_here = bool(product_id)
    focus_turn = None  # the earlier turn the product in focus comes from
    for previous in reversed(earlier):
        if product_id:
            break
        product_id, focus_turn = _product_of_turn(previous), previous
    product = Product.objects.filter(pk=product_id).only("brand", "model").first() if product_id else None
    name = f"{product.brand} {product.model}" if product else ""
    standalone = question
    if turn.conversation.kind == ConversationKind.AGENT:
        standalone = complaint_to_question(question, name)
    elif product and not named_here and not turn.product_id:
        if _is_policy_question(question):  # "and can I return it?": the product's name would pull its manual ahead of the policy
            standalone = question
        elif _is_policy_question(focus_turn.question):  # the product was what a return or an order was about, not the topic
            standalone = f"{focus_turn.question[:300]} {question}"
        else:
            standalone = f"{name}: {question}"
    elif ((not product or turn.product_id) and earlier and _FOLLOW_UP.search(question) and len(question.split()) <= 12
          and (_is_policy_question(earlier[-1].question) or not _is_policy_question(question))):
        # no product in focus, or the page's: the product is known, what the follow-up asks about is the earlier turn's
        standalone = f"{earlier[-1].question[:300]} {question}"
    return TurnContext(question=question, standalone=standalone, product_id=product_id, product_name=name, history=history)


def order_passages_for_user(*, user, question: str, limit: int = CHAT_ORDER_PASSAGES) -> list[tuple[str, str, str]]:
    """(source, text, url) of the user's own orders relevant to the question.

    Orders are looked up from `user` only: an order number in the question narrows the choice
    among the user's orders and can never reach another customer's. Newest first otherwise.
    """
    from eshop.models import Order

    orders = Order.objects.filter(user=user).prefetch_related("lines").order_by("-created_at", "-id")
    numbers = {n.upper() for n in ORDER_NUMBER_RE.findall(question)}
    if numbers:
        named = list(orders.filter(number__in=numbers)[:limit])
        orders = named or list(orders[:limit])
    else:
        orders = list(orders[:limit])
    passages = []
    for order in orders:
        items = "; ".join(f"{line.quantity} × {line.product_name}" for line in order.lines.all())
        tracking = f", tracking number {order.tracking_number}" if order.tracking_number else ""
        text = (f"Your order {order.number} was placed on {order.created_at:%d %B %Y}. Its status is "
                f"{order.get_status_display().lower()}{tracking}. Shipping: {order.get_shipping_method_display().lower()}. "
                f"Items: {items}. Order total: ${order.total}.")
        passages.append((f"Your order {order.number}", text, reverse("order-detail", kwargs={"number": order.number})))
    return passages


def chat_sources_for_turn(*, turn: ChatTurn, context: TurnContext | None = None,
                          limit: int = CHAT_PASSAGES) -> tuple[list[ChatSource], bool]:
    """The numbered sources of a turn's answer and whether the customer must sign in first.

    Knowledge passages come from knowledge_search with the turn's standalone question, narrowed to
    the product in focus; passages far below the best one are left out (the fewest that answer).
    For an order question, the signed-in customer's own orders come first (from the conversation's
    user, never from the message); for an anonymous customer the policies still answer what they can
    ("charged twice for my order", "my parcel arrived crushed") and the customer must sign in for the rest.
    A follow-up that finds nothing alone ("ok it's on, should it touch the inner?") is searched with the
    question before it.
    """
    context = context or chat_turn_context(turn=turn)
    sources: list[ChatSource] = []
    user = turn.conversation.user
    needs_sign_in = False
    if turn.conversation.kind == ConversationKind.CUSTOMER and is_order_question(turn.question):
        needs_sign_in = user is None
        for source, text, url in [] if needs_sign_in else order_passages_for_user(user=user, question=turn.question):
            sources.append(ChatSource(n=len(sources) + 1, text=text, source=source, url=url, kind="order"))
    queries = [context.standalone] + [f"{earlier['question'][:300]} {context.standalone}" for earlier in context.history[-1:]]
    for query in queries:  # a document that gives the assistant orders is neither shown nor read
        found = knowledge_search(query=query, product_id=context.product_id, limit=max(limit, CHAT_CANDIDATES),
                                 exclude=looks_like_injection)
        if found:
            break
    best = found[0].score if found else 0.0
    found = [p for p in found if p.score >= PASSAGE_MIN_SHARE * best]
    found = _with_the_named_row(found, limit=limit, question=turn.question, focus=context.standalone)
    brands = _brands({p.product_id for p in found if p.product_id})
    for passage in found:
        sources.append(ChatSource(n=len(sources) + 1, text=passage.text, source=passage.source, url=passage.url,
                                  kind=passage.kind, chunk_id=passage.chunk_id, document=passage.document_title,
                                  heading=passage.heading, page=passage.page, score=passage.score,
                                  brand=brands.get(passage.product_id, "")))
    return sources, needs_sign_in


def _with_the_named_row(found: list, *, limit: int, question: str, focus: str = "") -> list:
    """The first `limit` passages found; when none of them holds a table row that names what the question asks
    ("how long to charge it from empty" and "| Charging | ... about 2.5 hours from empty |") and a passage found
    further down does, the first such passage takes the last place. Close scores among one manual's pages often
    rank its technical data below pages that only mention the word. `focus`: the standalone question (rows_naming_the_ask)."""
    kept, rest = found[:limit], found[limit:]
    if not rest or not any(p.kind == DocumentKind.MANUAL for p in kept):
        return kept
    as_passages = [Passage(id=n, text=p.text, source=p.source, kind=p.kind) for n, p in enumerate(found)]
    name_words = " ".join([*knowledge_brands(), *{p.document_title for p in found}, "user manual"])
    if rows_naming_the_ask(as_passages[:limit], question, name_words, focus=focus):
        return kept
    for n, passage in enumerate(rest, limit):
        if rows_naming_the_ask([as_passages[n]], question, name_words, focus=focus):
            return [*kept[:-1], passage]
    return kept


def _brands(product_ids: set[int]) -> dict[int, str]:
    from eshop.models import Product

    return dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "brand")) if product_ids else {}


def knowledge_brands() -> list[str]:
    """Brands of the products that have a manual: the brand check of the answer knows these."""
    return sorted(set(KnowledgeDocument.objects.filter(kind=DocumentKind.MANUAL, product__isnull=False)
                      .values_list("product__brand", flat=True)))


def instant_quote(*, sources: list[ChatSource], question: str) -> dict | None:
    """The best-matching sentence of the first knowledge passages, labelled with its source, or None
    when no passage shares a word with the question (a quote about something else helps no one)."""
    candidates = [(source, best_sentence(source.text, question)) for source in sources if source.kind != "order"]
    candidates = [(source, quote) for source, quote in candidates[:INSTANT_QUOTE_PASSAGES] if quote]
    if not candidates:
        return None
    # The best sentence of the first two passages (ties: the better-ranked passage).
    source, quote = max(candidates, key=lambda pair: sentence_match(pair[1], question))
    if relevance(quote, question) == 0:
        return None
    where = f", page {source.page}" if source.page else ""
    label = f"From the {source.document or source.source}{where}"
    return {"n": source.n, "title": source.document or source.source, "page": source.page, "url": source.url,
            "label": label, "quote": quote}
