"""A local transformers model folder as LLM_MODEL: the same services work on it.

No causal LM ships as a transformers folder in the packages this project may install, so the test
builds a tiny one (a 2-layer Llama with random weights and a byte-level BPE tokenizer trained on a
few sentences) and saves it the way a shop's folder would be. Its text is gibberish; what is tested
is the plumbing: loading offline, streaming, max tokens, stop strings, time limits, JSON checking.
"""

import pytest

from llm import engine
from llm.model_files import ModelFileError
from llm.services.common import LLMOutputError
from llm.services.generate import generate_json, generate_stream
from llm.transformers_backend import _until_stop

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
CORPUS = ["The tent pole snapped on the first night.", "Where is my order? It has been ten days.",
          "Please refund the stove, it arrived dented.", "How do I reset the headlamp?"] * 20


def _save_tiny_model(folder, *, chat_template=CHAT_TEMPLATE):
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=400, special_tokens=["<s>", "</s>", "<pad>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_model_folder(tmp_path_factory):
    folder = _save_tiny_model(tmp_path_factory.mktemp("tiny-llama"))
    yield str(folder)
    engine._generators.pop(str(folder), None)


def test_a_transformers_folder_streams_and_respects_max_tokens(tiny_model_folder):
    pieces = list(generate_stream(messages=[{"role": "user", "content": "Where is my tent?"}], max_tokens=12,
                                  model=tiny_model_folder))

    generator = engine.generator(tiny_model_folder)
    assert type(generator.backend).__name__ == "TransformersChatBackend"
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert 1 <= generator.last_usage.completion_tokens <= 12
    assert generator.last_usage.prompt_tokens > 3


def test_a_transformers_folder_stops_at_its_time_limit(tiny_model_folder):
    with pytest.raises(engine.GenerationTimeout):
        list(generate_stream(messages=[{"role": "user", "content": "Tell me about stoves."}], max_tokens=1000,
                             time_limit=0.001, model=tiny_model_folder))


def test_json_from_a_transformers_folder_is_checked_after_generation(tiny_model_folder):
    schema = {"type": "object", "properties": {"colour": {"type": "string", "enum": ["red", "green"]}}, "required": ["colour"]}

    # Random weights cannot write JSON: without a grammar the parser is what refuses it.
    with pytest.raises(LLMOutputError):
        generate_json(messages=[{"role": "user", "content": "Pick a colour."}], json_schema=schema, max_tokens=16,
                      model=tiny_model_folder)


def test_a_folder_whose_tokenizer_has_no_chat_template_is_refused_clearly(tmp_path):
    folder = _save_tiny_model(tmp_path, chat_template=None)

    with pytest.raises(ModelFileError, match="could not be loaded by transformers: its tokenizer has no chat template"):
        engine.generator(str(folder))


def test_a_folder_without_weights_is_refused_clearly(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')

    with pytest.raises(ModelFileError, match="could not be loaded by transformers"):
        engine.generator(str(tmp_path))


@pytest.mark.parametrize(("pieces", "stop", "expected"), [
    (["Hello wor", "ld. END more"], ["END"], "Hello world. "),
    (["abc", "E", "ND"], ["END"], "abc"),
    (["no stop here"], ["END"], "no stop here"),
    (["a", "b"], [], "ab"),
])
def test_stop_strings_end_the_text_even_across_pieces(pieces, stop, expected):
    text = "".join(chunk["choices"][0]["delta"]["content"] for chunk in _until_stop(iter(pieces), stop))

    assert text == expected
