"""Real ``transformers`` model classes with tiny random configs, and a real tokenizer (no hub).

The tokenizer is a WordPiece ``BertTokenizerFast`` built from a vocab file written into a temp
folder, so it has real [CLS]/[SEP]/[PAD] handling, token_type_ids and sequence ids.
"""

from __future__ import annotations

import pathlib

import torch
import transformers as tf

WORDS = (
    "the cat sat on mat dog ran to park a bird sang in tree my friend likes tea and cake she "
    "he it was is were today yesterday big small red blue . , ! ?"
).split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>", "</s>"]
LAYERS, HEADS, HIDDEN = 3, 4, 32


def write_vocab(folder: pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(folder) / "vocab.txt"
    path.write_text("\n".join(SPECIALS + WORDS + ["##s", "##ing"]) + "\n")
    return path


def make_tokenizer(folder: pathlib.Path) -> tf.PreTrainedTokenizerFast:
    return tf.BertTokenizerFast(vocab=str(write_vocab(folder)), do_lower_case=True)


def vocab_size(tokenizer) -> int:
    return len(tokenizer)


def make_model(family: str, tokenizer, **overrides):
    """A random-weight model of ``family`` (bert, roberta, distilbert, gpt2, bart, t5, llama, qwen2)."""
    torch.manual_seed(0)
    v = vocab_size(tokenizer)
    pad = tokenizer.pad_token_id
    common = dict(vocab_size=v, pad_token_id=pad)
    if family == "bert":
        cfg = tf.BertConfig(
            hidden_size=HIDDEN,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            intermediate_size=64,
            max_position_embeddings=128,
            **common,
        )
        cls = tf.BertModel
    elif family == "roberta":
        cfg = tf.RobertaConfig(
            hidden_size=HIDDEN,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            intermediate_size=64,
            max_position_embeddings=130,
            **common,
        )
        cls = tf.RobertaModel
    elif family == "distilbert":
        cfg = tf.DistilBertConfig(
            dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS, hidden_dim=64, max_position_embeddings=128, **common
        )
        cls = tf.DistilBertModel
    elif family == "gpt2":
        cfg = tf.GPT2Config(
            n_embd=HIDDEN,
            n_layer=LAYERS,
            n_head=HEADS,
            n_positions=128,
            vocab_size=v,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
        )
        cls = tf.GPT2LMHeadModel
    elif family == "bart":
        cfg = tf.BartConfig(
            d_model=HIDDEN,
            encoder_layers=LAYERS,
            decoder_layers=LAYERS,
            encoder_attention_heads=HEADS,
            decoder_attention_heads=HEADS,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=128,
            decoder_start_token_id=tokenizer.cls_token_id,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            **common,
        )
        cls = tf.BartForConditionalGeneration
    elif family == "t5":
        cfg = tf.T5Config(
            d_model=HIDDEN,
            d_kv=8,
            d_ff=64,
            num_layers=LAYERS,
            num_heads=HEADS,
            decoder_start_token_id=pad,
            eos_token_id=tokenizer.sep_token_id,
            **common,
        )
        cls = tf.T5ForConditionalGeneration
    elif family in ("llama", "qwen2", "mistral"):
        cfg_cls = {"llama": tf.LlamaConfig, "qwen2": tf.Qwen2Config, "mistral": tf.MistralConfig}[family]
        cfg = cfg_cls(
            hidden_size=HIDDEN,
            intermediate_size=64,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            num_key_value_heads=2,
            max_position_embeddings=128,
            **common,
        )
        cls = {"llama": tf.LlamaForCausalLM, "qwen2": tf.Qwen2ForCausalLM, "mistral": tf.MistralForCausalLM}[family]
    else:
        raise ValueError(f"unknown family {family!r}")
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cls(cfg).eval()
