"""A multidimensional item-response-theory (MIRT) router.

Item response theory models the probability that test-taker ``m`` answers item ``q`` correctly as
``sigmoid(a_q . theta_m - b_q)``: ``theta_m`` is the taker's ability vector, ``a_q`` the item's discrimination
(which abilities it tests) and ``b_q`` its difficulty (Reckase 2009, "Multidimensional Item Response Theory"; used for
LLM routing by "IRT-Router", Song et al., ACL 2025). Here the takers are the candidate models and the items
are queries. A classical IRT fit learns ``a_q, b_q`` per item and cannot score a new query; this router instead
predicts them from the query features with a small network (``d -> hidden -> (a_q, b_q)``), so it generalises to
unseen queries, and learns one ``theta_m`` per model.

Hyperparameters: ``dim`` = 25 ability dimensions, ``hidden`` = 128 (ReLU), binary cross-entropy (with logits) on
observed cells, Adam ``lr`` = 1e-3, ``epochs`` = 100, ``batch_size`` = 32. Cost is a third head of the same query
network predicting each model's standardised log cost with the masked MSE and the
:class:`~mmr_utils.routers.neural.LogCostScaler` of the other neural routers; training, seeding (``seed`` via
:func:`mmr_utils._torch.seeded`), device handling and npz persistence are theirs
(:class:`~mmr_utils.routers.neural._TorchRouter`). ``U`` is the predicted probability of correct, in (0, 1).
"""

from __future__ import annotations

import torch
from torch import nn

from mmr_utils.routers.base import register
from mmr_utils.routers.neural import _TorchRouter


class _IRTNet(nn.Module):
    def __init__(self, n_features: int, n_models: int, hidden: int, dim: int):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU())
        self.discrimination = nn.Linear(hidden, dim)
        self.difficulty = nn.Linear(hidden, 1)
        self.cost_head = nn.Linear(hidden, n_models)
        self.ability = nn.Parameter(torch.randn(n_models, dim) / dim ** 0.5)

    def logits(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.discrimination(h) @ self.ability.T - self.difficulty(h), self.cost_head(h)

    def forward(self, x):
        # Training needs logits for a numerically stable BCE; evaluation (predict, epoch callbacks) probabilities.
        logit, z_cost = self.logits(x)
        return (logit if self.training else torch.sigmoid(logit)), z_cost


@register
class IRTRouter(_TorchRouter):
    """MIRT router: ``P(correct) = sigmoid(a(x) . theta_m - b(x))`` with ``a(x)`` (``dim`` = 25) and ``b(x)``
    predicted from the features by ``d -> hidden (128, ReLU)`` heads and one learned ``theta_m`` per model; binary
    cross-entropy on observed cells, cost as the other neural routers (module docstring). Seeded."""

    name = "irt"
    #: Not batched: under ``vmap`` the BCE loss of a member comes out a float32 rounding apart depending on the size of
    #: its ensemble, which would make a run's result depend on how runs were grouped.
    batchable = False

    def __init__(self, *, dim: int = 25, hidden: int = 128, epochs: int = 100, batch_size: int = 32,
                 lr: float = 1e-3, device: str = "cpu", seed: int = 0):
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, device=device, seed=seed)
        self.dim = dim
        self.hidden = hidden

    def _check_params(self, n_features):
        super()._check_params(n_features)
        for label in ("dim", "hidden"):
            value = getattr(self, label)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")

    def _build_module(self, n_features, n_models):
        return _IRTNet(n_features, n_models, self.hidden, self.dim)

    def _utility_loss(self, prediction, target, mask):
        loss = nn.functional.binary_cross_entropy_with_logits(prediction, target, reduction="none")
        return (loss * mask).sum() / mask.sum().clamp(min=1.0)

    def abilities(self):
        """The fitted model abilities ``theta`` (K x dim) as a numpy array."""
        self._require_fitted()
        return self.module_.ability.detach().cpu().double().numpy()
