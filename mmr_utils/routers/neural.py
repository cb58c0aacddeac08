"""Neural routers of the paper's baselines (Sec. 5.1): MLP, MLPMF (query tower + model embeddings) and CMR (a
cross-modal transformer over a text and an image token). One loop: fused Adam/AdamW, mini-batches shuffled by
``torch.Generator(seed)``, masked MSE over observed cells (utility + cost). Cost is learned as ``z = (log(C + eps) -
mean) / std`` (``eps`` = 1 % of the median positive cost) and mapped back clipped to the training ``z`` range widened by
one sd (``P`` finite, >= 0). Initialisation and dropout run in ``seeded(seed)``; deterministic operations only."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from mmr_utils._torch import configure_threads, resolve_device, seeded
from mmr_utils.routers.base import Router, check_outcomes, register


class LogCostScaler:
    """Standardised log cost: ``z = (log(C + eps) - mean) / std`` and its clipped inverse (module docstring)."""

    def __init__(self, eps: float, mean: float, std: float, z_min: float, z_max: float):
        self.eps, self.mean, self.std, self.z_min, self.z_max = eps, mean, std, z_min, z_max

    @classmethod
    def fit(cls, C: np.ndarray, mask: np.ndarray) -> LogCostScaler:
        observed = C[mask]
        positive = observed[observed > 0]
        eps = 0.01 * float(np.median(positive)) if positive.size else 1e-9
        logs = np.log(observed + eps)
        mean, std = float(logs.mean()), float(logs.std())
        std = std if std > 0 else 1.0
        z = (logs - mean) / std
        return cls(eps, mean, std, float(z.min()) - 1.0, float(z.max()) + 1.0)

    def transform(self, C: np.ndarray) -> np.ndarray:
        return (np.log(C + self.eps) - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        z = np.clip(z, self.z_min, self.z_max)
        return np.maximum(np.exp(z * self.std + self.mean) - self.eps, 0.0)

    def to_array(self) -> np.ndarray:
        return np.array([self.eps, self.mean, self.std, self.z_min, self.z_max])

    @classmethod
    def from_array(cls, values: np.ndarray) -> LogCostScaler:
        return cls(*(float(v) for v in values))


def _masked_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return ((prediction - target) ** 2 * mask).sum() / mask.sum().clamp(min=1.0)


class _TorchRouter(Router):
    """Shared training, prediction and persistence for the neural routers; subclasses implement ``_build_module``
    (forward returns ``(utility, z_cost)``, batch x K) and ``_make_optimizer``."""

    neural = True
    #: No randomness beyond initialisation and shuffling (no dropout): trains batched (:func:`_train_ensemble`).
    batchable = True

    def __init__(self, *, epochs: int = 100, batch_size: int = 32, lr: float = 1e-3, device: str = "cpu",
                 seed: int = 0):
        super().__init__(seed=seed)
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        #: Optional ``callable(epoch, router)`` run after every epoch in eval mode (E epochs are exactly the first E of
        #: a longer run with the same seed, so one long run scores every shorter one). Not a parameter; never saved.
        self.epoch_callback = None

    def _build_module(self, n_features: int, n_models: int) -> nn.Module:
        raise NotImplementedError

    def _make_optimizer(self, parameters) -> torch.optim.Optimizer:
        return torch.optim.Adam(parameters, lr=self.lr, fused=True)

    def _utility_loss(self, prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Training loss of the utility output over observed cells: masked MSE (the IRT router overrides it)."""
        return _masked_mse(prediction, target, mask)

    def _check_params(self, n_features: int) -> None:
        for label in ("epochs", "batch_size"):
            value = getattr(self, label)
            if not isinstance(value, (int, np.integer)) or value < (0 if label == "epochs" else 1):
                raise ValueError(f"{label} must be a {'non-negative' if label == 'epochs' else 'positive'} integer, "
                                 f"got {value!r}")

    def _prepare_training(self, X, Y, C, mask, device):
        """The freshly initialised module (call inside ``seeded(seed)``) and the training tensors (features, utility
        target, standardised log cost target, observed mask) for one router; sets ``device_`` and ``cost_scaler_``."""
        self._check_params(X.shape[1])
        self.device_ = str(device)
        self.cost_scaler_ = LogCostScaler.fit(C, mask)
        Z = np.where(mask, self.cost_scaler_.transform(np.where(mask, C, 0.0)), 0.0)
        as_tensor = lambda array: torch.as_tensor(np.asarray(array, dtype=np.float32), device=device)
        module = self._build_module(X.shape[1], Y.shape[1]).to(device)
        return module, (as_tensor(X), as_tensor(Y), as_tensor(Z), as_tensor(mask))

    def _member_loss(self, module: nn.Module):
        """``loss(parameters, buffers, x, utility, z_cost, observed)`` of one member, for ``torch.func.vmap``."""
        def loss(parameters, buffers, x, utility, z_cost, observed):
            predicted_utility, predicted_z = functional_call(module, (parameters, buffers), (x,))
            return (self._utility_loss(predicted_utility, utility, observed)
                    + _masked_mse(predicted_z, z_cost, observed))
        return loss

    def _fit(self, X, Y, C, mask):
        if self.batchable:
            _train_ensemble([self], [(X, Y, C, mask)])
            return
        configure_threads()
        device = resolve_device(self.device)
        self.loss_history_ = []
        with seeded(self.seed, device):
            module, (features, utility, z_cost, observed) = self._prepare_training(X, Y, C, mask, device)
            n = features.shape[0]
            optimizer = self._make_optimizer(module.parameters())
            shuffler = torch.Generator().manual_seed(self.seed)
            module.train()
            for _ in range(self.epochs):
                order = torch.randperm(n, generator=shuffler).to(device)
                epoch_loss = 0.0
                for start in range(0, n, self.batch_size):
                    batch = order[start:start + self.batch_size]
                    predicted_utility, predicted_z = module(features[batch])
                    loss = (self._utility_loss(predicted_utility, utility[batch], observed[batch])
                            + _masked_mse(predicted_z, z_cost[batch], observed[batch]))
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    epoch_loss += float(loss.detach()) * len(batch)
                self.loss_history_.append(epoch_loss / n)
                self._after_epoch(module)
        module.eval()
        self.module_ = module

    def _after_epoch(self, module: nn.Module) -> None:
        """Run ``epoch_callback`` (if any) with the network in eval mode, outside the training random state."""
        if self.epoch_callback is None:
            return
        module.eval()
        self.module_ = module
        with torch.random.fork_rng(devices=[]):
            self.epoch_callback(len(self.loss_history_), self)
        module.train()

    @classmethod
    def fit_many(cls, routers, datasets):
        """Fit each router on its ``(X, Y, C[, mask])``: :attr:`batchable` ones equal but for ``seed``, on data of equal
        shapes, as one batched ensemble (:func:`_train_ensemble`), the others one after another."""
        routers, checked = list(routers), []
        for router, data in zip(routers, datasets, strict=True):
            X, Y, C, mask = check_outcomes(*data)
            router.n_features_, router.n_models_ = X.shape[1], Y.shape[1]
            checked.append((X, Y, C, mask))
        groups: dict[str, list[int]] = {}
        for index, (router, (X, Y, _, _)) in enumerate(zip(routers, checked)):
            key = ensemble_key(router, X.shape, Y.shape) if router.batchable else f"single-{index}"
            groups.setdefault(key, []).append(index)
        for members in groups.values():
            if len(members) > 1:
                _train_ensemble([routers[i] for i in members], [checked[i] for i in members])
            else:
                routers[members[0]]._fit(*checked[members[0]])
        return routers

    @torch.no_grad()
    def _predict(self, X, chunk: int = 4096):
        device = torch.device(self.device_)
        utilities, z_costs = [], []
        for start in range(0, X.shape[0], chunk):
            batch = torch.as_tensor(X[start:start + chunk].astype(np.float32), device=device)
            utility, z_cost = self.module_(batch)
            utilities.append(utility.double().cpu().numpy())
            z_costs.append(z_cost.double().cpu().numpy())
        return np.concatenate(utilities), self.cost_scaler_.inverse(np.concatenate(z_costs))

    def _get_state(self):
        state = {f"module.{key}": value.detach().cpu().numpy() for key, value in self.module_.state_dict().items()}
        state["cost_scaler"] = self.cost_scaler_.to_array()
        state["loss_history"] = np.asarray(self.loss_history_)
        return state

    def _extra_meta(self):
        return {"device": self.device_}

    def _set_extra_meta(self, meta):
        self.device_ = meta.get("device", "cpu")

    def _set_state(self, arrays):
        device = torch.device(self.device_)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"router was saved from {self.device_!r} but CUDA is not available here")
        self.cost_scaler_ = LogCostScaler.from_array(arrays["cost_scaler"])
        self.loss_history_ = arrays["loss_history"].tolist()
        with seeded(self.seed, device):
            module = self._build_module(self.n_features_, self.n_models_)
        state = {key[len("module."):]: torch.from_numpy(np.array(value)) for key, value in arrays.items()
                 if key.startswith("module.")}
        module.load_state_dict(state)
        self.module_ = module.to(device).eval()


#: Largest ensemble trained at once: beyond it the per-run time stops falling on CPU (benchmarks/bench_speed.py).
MAX_ENSEMBLE = 16


def ensemble_key(router: _TorchRouter, x_shape, y_shape) -> str:
    """Routers with equal keys can train as one ensemble: same class, same parameters but ``seed``, same data shapes."""
    params = {k: v for k, v in router.get_params().items() if k != "seed"}
    return repr((type(router).__name__, sorted(params.items()), tuple(x_shape), tuple(y_shape)))


def _train_ensemble(routers: list[_TorchRouter], data: list[tuple]) -> None:
    """Train ``routers`` (one class, parameters equal but ``seed``, equal data shapes) as one batched ensemble in chunks
    of :data:`MAX_ENSEMBLE`, each member keeping its initialisation, shuffling, data and optimiser state; losses via
    ``torch.func.vmap`` over parameters restacked each step, so a member is bit-identical to training it alone."""
    if len(routers) > MAX_ENSEMBLE:
        for start in range(0, len(routers), MAX_ENSEMBLE):
            _train_ensemble(routers[start:start + MAX_ENSEMBLE], data[start:start + MAX_ENSEMBLE])
        return
    first = routers[0]
    keys = {ensemble_key(r, X.shape, Y.shape) for r, (X, Y, _, _) in zip(routers, data)}
    if len(keys) != 1 or not first.batchable:
        raise ValueError(f"an ensemble needs batchable routers of one class with equal parameters but seed and data "
                         f"of equal shapes; got {len(keys)} different settings")
    configure_threads()
    device = resolve_device(first.device)
    modules, tensors = [], []
    for router, (X, Y, C, mask) in zip(routers, data):
        with seeded(router.seed, device):
            module, member_tensors = router._prepare_training(X, Y, C, mask, device)
        modules.append(module.train())
        tensors.append(member_tensors)
    features, utility, z_cost, observed = (torch.stack(column) for column in zip(*tensors))
    names = [name for name, _ in modules[0].named_parameters()]
    member_parameters = [dict(module.named_parameters()) for module in modules]
    buffers = {name: torch.stack([dict(m.named_buffers())[name] for m in modules])
               for name, _ in modules[0].named_buffers()}
    template = copy.deepcopy(modules[0]).to("meta").train()
    member_loss = vmap(first._member_loss(template))
    optimizer = first._make_optimizer([p for parameters in member_parameters for p in parameters.values()])
    shufflers = [torch.Generator().manual_seed(router.seed) for router in routers]
    n, size, members = features.shape[1], first.batch_size, torch.arange(len(routers), device=device)[:, None]
    for router in routers:
        router.loss_history_ = []
    for _ in range(first.epochs):
        orders = torch.stack([torch.randperm(n, generator=shuffler) for shuffler in shufflers]).to(device)
        epoch_loss = torch.zeros(len(routers), dtype=torch.float64, device=device)
        for start in range(0, n, size):
            batch = orders[:, start:start + size]
            stacked = {name: torch.stack([parameters[name] for parameters in member_parameters]) for name in names}
            losses = member_loss(stacked, buffers, features[members, batch], utility[members, batch],
                                 z_cost[members, batch], observed[members, batch])
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimizer.step()
            epoch_loss += losses.detach().double() * batch.shape[1]
        for router, module, value in zip(routers, modules, epoch_loss.tolist()):
            router.loss_history_.append(value / n)
            router._after_epoch(module)
    for router, module in zip(routers, modules):
        router.module_ = module.eval()


class _MLPNet(nn.Module):
    def __init__(self, n_features: int, n_models: int, hidden: tuple[int, int]):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(n_features, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], hidden[1]),
                                   nn.ReLU())
        self.utility_head = nn.Linear(hidden[1], n_models)
        self.cost_head = nn.Linear(hidden[1], n_models)

    def forward(self, x):
        h = self.trunk(x)
        return self.utility_head(h), self.cost_head(h)


@register
class MLPRouter(_TorchRouter):
    """MLP router: ``d -> 256 -> 128`` (ReLU) with two linear heads ``128 -> K``, one for utility and one for the
    standardised log cost; Adam (``lr``), ``epochs`` epochs of mini-batches, masked MSE."""

    name = "mlp"

    def __init__(self, *, hidden: tuple[int, int] = (256, 128), epochs: int = 100, batch_size: int = 32,
                 lr: float = 1e-3, device: str = "cpu", seed: int = 0):
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, device=device, seed=seed)
        self.hidden = list(hidden)

    def _build_module(self, n_features, n_models):
        return _MLPNet(n_features, n_models, tuple(self.hidden))


class _MLPMFNet(nn.Module):
    def __init__(self, n_features: int, n_models: int, hidden: tuple[int, int], embedding_dim: int,
                 layout: str, init_sd: float):
        super().__init__()

        def tower():
            return nn.Sequential(nn.Linear(n_features, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], hidden[1]),
                                 nn.ReLU(), nn.Linear(hidden[1], embedding_dim))

        self.query_tower = tower()
        self.cost_query_tower = tower() if layout == "separate" else None
        self.utility_embedding = nn.Parameter(torch.randn(n_models, embedding_dim) * init_sd)
        self.cost_embedding = nn.Parameter(torch.randn(n_models, embedding_dim) * init_sd)
        self.utility_bias = nn.Parameter(torch.zeros(n_models))
        self.cost_bias = nn.Parameter(torch.zeros(n_models))

    def forward(self, x):
        q = self.query_tower(x)
        q_cost = q if self.cost_query_tower is None else self.cost_query_tower(x)
        return q @ self.utility_embedding.T + self.utility_bias, q_cost @ self.cost_embedding.T + self.cost_bias


@register
class MLPMFRouter(_TorchRouter):
    """MLPMF router (matrix factorisation, paper Sec. 5.1): a query tower ``d -> 256 -> 128 -> 64`` and learned 64-d
    model embeddings; utility and standardised log cost are dot products plus a per-model bias, with separate
    embeddings and biases for the two; Adam, masked MSE. By default both read one query tower; the official code
    gives the cost its own (``cost_tower="separate"``; docs/paper.md, section 4, says why the default differs). Model
    embeddings start at ``N(0, embedding_init_sd^2)``, the official 0.01."""

    name = "mlp_mf"

    def __init__(self, *, hidden: tuple[int, int] = (256, 128), embedding_dim: int = 64, epochs: int = 100,
                 batch_size: int = 32, lr: float = 1e-3, cost_tower: str = "shared",
                 embedding_init_sd: float = 0.01, device: str = "cpu", seed: int = 0):
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, device=device, seed=seed)
        if cost_tower not in ("separate", "shared"):
            raise ValueError(f"cost_tower must be 'separate' (official) or 'shared', got {cost_tower!r}")
        if not embedding_init_sd > 0:
            raise ValueError(f"embedding_init_sd must be positive, got {embedding_init_sd!r}")
        self.hidden = list(hidden)
        self.embedding_dim = embedding_dim
        self.cost_tower = cost_tower
        self.embedding_init_sd = embedding_init_sd

    def _build_module(self, n_features, n_models):
        return _MLPMFNet(n_features, n_models, tuple(self.hidden), self.embedding_dim, self.cost_tower,
                         self.embedding_init_sd)


class _CMRNet(nn.Module):
    def __init__(self, text_dim: int, image_dim: int, n_models: int, width: int, layers: int, heads: int,
                 dropout: float):
        super().__init__()
        self.text_dim = text_dim
        self.text_projection = nn.Linear(text_dim, width)
        self.image_projection = nn.Linear(image_dim, width)
        self.missing_image = nn.Parameter(torch.randn(width) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model=width, nhead=heads, dim_feedforward=4 * width, dropout=dropout,
                                           activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
        self.utility_head = nn.Linear(width, n_models)
        self.cost_head = nn.Linear(width, n_models)

    def forward(self, x):
        text, image = x[:, :self.text_dim], x[:, self.text_dim:]
        text_token = self.text_projection(text)
        image_present = (image != 0).any(dim=1, keepdim=True)
        image_token = torch.where(image_present, self.image_projection(image), self.missing_image.expand_as(text_token))
        pooled = self.encoder(torch.stack([text_token, image_token], dim=1)).mean(dim=1)
        return self.utility_head(pooled), self.cost_head(pooled)


@register
class CMRRouter(_TorchRouter):
    """CMR (cross-modal router; ``"concat"`` fusion): the text and image parts of ``[text | image]`` (split at
    ``text_dim``) are projected to ``width`` tokens, pass ``layers`` transformer encoder layers, are mean-pooled, and
    two heads give utility and log cost; AdamW. An all-zero image part gets a learned missing-image token."""

    name = "cmr"
    fusion = "concat"
    fusion_label = "cross-attention"
    needs_both_channels = True
    needs_text_dim = True
    batchable = False  # dropout: a member's masks would depend on the ensemble it trains in

    def __init__(self, *, text_dim: int | None = None, width: int = 512, layers: int = 2, heads: int = 8,
                 dropout: float = 0.1, weight_decay: float = 1e-4, epochs: int = 100, batch_size: int = 32,
                 lr: float = 1e-3, device: str = "cpu", seed: int = 0):
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, device=device, seed=seed)
        self.text_dim = text_dim
        self.width = width
        self.layers = layers
        self.heads = heads
        self.dropout = dropout
        self.weight_decay = weight_decay

    def _check_params(self, n_features):
        super()._check_params(n_features)
        if not isinstance(self.text_dim, (int, np.integer)) or not 0 < self.text_dim < n_features:
            raise ValueError(f"CMR needs text_dim (the width of the text part of concat features [text | image]) "
                             f"with 0 < text_dim < {n_features} = number of feature columns; got {self.text_dim!r}")

    def _build_module(self, n_features, n_models):
        return _CMRNet(int(self.text_dim), n_features - int(self.text_dim), n_models, self.width, self.layers,
                       self.heads, self.dropout)

    def _make_optimizer(self, parameters):
        return torch.optim.AdamW(parameters, lr=self.lr, weight_decay=self.weight_decay, fused=True)
