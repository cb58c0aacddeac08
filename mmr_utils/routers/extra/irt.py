"""A multidimensional IRT (MIRT) router (Reckase 2009; "IRT-Router", Song et al., ACL 2025): P(model ``m`` answers
``q``) = ``sigmoid(a_q . theta_m - b_q)``, an ability ``theta_m`` per model, ``a_q`` and ``b_q`` predicted from the
query features (``d -> hidden -> (a_q, b_q)``); a third head predicts the standardised log cost. Loss: BCE on observed
cells + masked cost MSE; training as :class:`~mmr_utils.routers.neural._TorchRouter`. ``U``: P(correct)."""

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
    """MIRT router (module docstring); ``a(x)`` has ``dim`` entries, the heads a ReLU hidden layer. Seeded."""

    name = "irt"
    #: Not batched: under ``vmap`` a member's BCE loss moves by a float32 rounding with the ensemble's size.
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
