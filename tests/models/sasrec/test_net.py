"""The network: the item table (cold items take text neighbours' vectors), mask and encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shoprec.models.sasrec.net import ItemTable

from .planted import TINY


def table(cold_neighbors: int, temperature: float = 0.02) -> ItemTable:
    """Four known items on the text axes, one cold item's text between items 0 and 1."""
    cfg = TINY.model_copy(
        update={"cold_neighbors": cold_neighbors, "cold_temperature": temperature}
    )
    items = ItemTable(5, 4, cfg)
    with torch.no_grad():
        items.text.copy_(torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1],
                                       [0.9, 0.3, 0, 0]]))  # fmt: skip
        items.known.copy_(torch.tensor([1.0, 1, 1, 1, 0]))
        items.id_emb.mul_(torch.arange(1, 6)[:, None])  # distinct norms
    return items.eval()


def test_a_cold_item_takes_its_nearest_known_items_vector() -> None:
    items = table(cold_neighbors=1)
    out = items()
    torch.testing.assert_close(out[4], out[0])


def test_several_neighbours_are_averaged_keeping_their_mean_length() -> None:
    items = table(cold_neighbors=2, temperature=1.0)
    out = items()
    sim = torch.tensor([0.9, 0.3]) / torch.tensor([0.9, 0.3]).norm()
    w = torch.softmax(sim, dim=0)
    mean = w[0] * out[0] + w[1] * out[1]
    length = w[0] * out[0].norm() + w[1] * out[1].norm()
    torch.testing.assert_close(out[4], mean / mean.norm() * length)
    assert out[4].norm() > mean.norm()  # a plain average would shrink it


@pytest.mark.parametrize("train", [False, True])
def test_off_or_in_training_a_cold_item_is_its_text_projection(train: bool) -> None:
    items = table(cold_neighbors=0 if not train else 3).train(train)
    with torch.no_grad():
        out = items()
        assert items.text_proj is not None
        torch.testing.assert_close(out[4], items.text_proj(items.text[4]))


def test_head_vectors_go_to_the_most_frequent_items_and_add_to_their_rows() -> None:
    cfg = TINY.model_copy(update={"item_repr": "id", "id_head_items": 2, "id_head_dim": 4})
    items = ItemTable(5, 0, cfg)
    items.choose_head(np.array([3, 9, 0, 9, 1]))
    assert items.head_rows.tolist() == [1, 3]
    assert items.head_emb is not None and items.head_up is not None
    with torch.no_grad():
        out = items.eval()()
        torch.testing.assert_close(out[[0, 2, 4]], items.id_emb[[0, 2, 4]])  # type: ignore[index]
        extra = items.head_up(items.head_emb)
        torch.testing.assert_close(out[[1, 3]], items.id_emb[[1, 3]] + extra)  # type: ignore[index]


def test_a_table_without_head_vectors_stores_no_head_rows() -> None:
    # Artifacts written before head vectors existed must still load.
    assert "head_rows" not in ItemTable(5, 4, TINY).state_dict()
    with_head = ItemTable(5, 4, TINY.model_copy(update={"id_head_items": 2}))
    assert "head_rows" in with_head.state_dict()


def test_attention_mask_is_causal_hides_padding_keys_and_keeps_each_query_its_own_key() -> None:
    from shoprec.models.sasrec.net import attention_mask

    real = torch.tensor([[False, False, True, True], [True, True, True, True]])
    mask = attention_mask(real)[:, 0]  # (B, T, T)
    causal = torch.ones(4, 4, dtype=torch.bool).tril()
    assert torch.equal(mask[1], causal)  # no padding: plain causal
    expected = causal & (real[0][None, :] | torch.eye(4, dtype=torch.bool))
    assert torch.equal(mask[0], expected)
    assert mask[0, 0].tolist() == [True, False, False, False]  # a padding query sees itself


def test_encoder_reads_any_table_and_encode_is_the_last_state() -> None:
    from shoprec.models.sasrec.net import SASRecNet, SequenceEncoder

    torch.manual_seed(0)
    net = SASRecNet(7, 4, TINY).eval()
    encoder = SequenceEncoder(TINY).eval()
    encoder.load_state_dict(
        {k: v for k, v in net.state_dict().items() if not k.startswith("items.")}
    )
    batch = {
        "items": torch.tensor([[-1, 2, 3], [4, 5, 6]]),
        "types": torch.tensor([[0, 1, 1], [1, 2, 1]]),
        "gaps": torch.zeros(2, 3, dtype=torch.long),
    }
    with torch.no_grad():
        table = net.items()
        states = net(table, batch)  # (B, T, D)
        torch.testing.assert_close(encoder.encode(table, batch), states[:, -1])
        # Without padding the causal kernel runs unmasked; the explicit mask gives the same.
        full = {k: v[1:] for k, v in batch.items()}
        torch.testing.assert_close(net.encode(table, full), states[1:, -1])
