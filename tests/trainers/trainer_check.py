"""Run a trainer's own schedule logic, transcribed from its source, on the
config schedopt wrote, and compare every optimizer step with schedopt's rates.

usage: trainer_check.py TRAINER CONFIG RATES.txt [TRAINER CONFIG RATES.txt ...]
  TRAINER  megatron | torchtitan | olmo_core | nanogpt | deepspeed
  CONFIG   the file schedopt_trainer_write produced
  RATES    one rate per line: schedopt's rate of optimizer step k = 0, 1, ...
prints per triple "steps N worst W" (W: largest |difference| / peak over the
steps the trainer performs, N: how many it performs), then "torch yes|no".

Transcriptions (read from the projects' sources; the loops say when each
trainer reads its counter):
  megatron    megatron/training/training.py get_optimizer_param_scheduler
              (iterations -> samples) and train(): `while iteration <
              args.train_iters`, the scheduler stepped by the global batch
              after each optimizer step; megatron/core/optimizer_param_scheduler.py
              OptimizerParamScheduler.get_lr.
  torchtitan  torchtitan/components/lr_scheduler.py build_lr_schedulers and
              linear_warmup_stable_decay under torch.optim.lr_scheduler.LambdaLR
              (the real one when torch is installed); train.py: `while
              self.step < job_config.training.steps`, optimizer then scheduler step.
  olmo_core   src/olmo_core/optim/scheduler.py (WSD, CosWithWarmup,
              LinearWithWarmup, _linear_warmup, _linear_decay, Scheduler.set_lr
              with trainer.global_step) and train/trainer.py _fit_epoch, which
              counts global_step up before each batch and stops at max_steps.
  nanogpt     train.py get_lr and its loop: the rate is set before the step,
              `iter_num += 1; if iter_num > max_iters: break`.
  deepspeed   deepspeed/runtime/lr_schedules.py WarmupLR, WarmupDecayLR,
              WarmupCosineLR and update_lr; the engine steps the scheduler
              after each optimizer step (runtime/engine.py _take_model_step),
              from last_batch_iteration = -1 at construction.
"""
import math
import re
import sys

have_torch = False
try:
    import torch  # noqa: F401
    have_torch = True
except Exception:
    pass


def megatron():
    text = open(cfg).read()
    body = re.search(r'SCHEDOPT_LR_ARGS=\((.*?)\)', text, re.S).group(1).split()
    a = {}
    for i, w in enumerate(body):
        if w.startswith('--'):
            a[w[2:]] = body[i + 1]
    # argparse: type=float / type=int
    lr, min_lr = float(a['lr']), float(a['min-lr'])
    init_lr = float(a.get('lr-warmup-init', '0.0'))
    gbs = int(a.get('global-batch-size', '1'))
    train_iters = int(a['train-iters'])
    lr_decay_iters = int(a.get('lr-decay-iters', train_iters))
    # get_optimizer_param_scheduler, iteration-based training
    lr_decay_steps = lr_decay_iters * gbs
    wsd_decay_steps = int(a['lr-wsd-decay-iters']) * gbs if 'lr-wsd-decay-iters' in a else None
    lr_warmup_steps = int(a['lr-warmup-iters']) * gbs
    style, wstyle = a['lr-decay-style'], a.get('lr-wsd-decay-style')

    def get_lr(num_steps):
        max_lr = lr
        if lr_warmup_steps > 0 and num_steps <= lr_warmup_steps:
            return init_lr + ((max_lr - init_lr) * float(num_steps) / float(lr_warmup_steps))
        if style == 'constant':
            return max_lr
        if num_steps > lr_decay_steps:
            return min_lr
        num_steps_ = num_steps - lr_warmup_steps
        decay_steps_ = lr_decay_steps - lr_warmup_steps
        decay_ratio = float(num_steps_) / float(decay_steps_)
        assert 0.0 <= decay_ratio <= 1.0
        delta_lr = max_lr - min_lr
        coeff = None
        if style == 'linear':
            coeff = 1.0 - decay_ratio
        elif style == 'cosine':
            coeff = 0.5 * (math.cos(math.pi * decay_ratio) + 1.0)
        elif style == 'WSD':
            wsd_anneal_start_ = lr_decay_steps - wsd_decay_steps
            if num_steps <= wsd_anneal_start_:
                coeff = 1.0
            else:
                wsd_steps = num_steps - wsd_anneal_start_
                wsd_decay_ratio = float(wsd_steps) / float(wsd_decay_steps)
                if wstyle == 'linear':
                    coeff = 1.0 - wsd_decay_ratio
                elif wstyle == 'cosine':
                    coeff = 0.5 * (math.cos(math.pi * wsd_decay_ratio) + 1.0)
                elif wstyle == 'exponential':
                    coeff = (2.0 * math.pow(0.5, wsd_decay_ratio)) - 1.0
                elif wstyle == 'minus_sqrt':
                    coeff = 1.0 - math.sqrt(wsd_decay_ratio)
        assert coeff is not None
        return min_lr + coeff * delta_lr

    got, num_steps, iteration = [], 0, 0  # the scheduler's step(0) at construction
    while iteration < train_iters:
        got.append(get_lr(num_steps))     # train_step: the optimizer step uses it
        num_steps += gbs                  # opt_param_scheduler.step(increment=gbs)
        iteration += 1
    return got, lr


def torchtitan():
    import tomllib
    c = tomllib.load(open(cfg, 'rb'))
    training_steps = c['training']['steps']
    ls = c['lr_scheduler']
    base_lr = c['optimizer']['lr']
    warmup_steps = int(ls['warmup_steps'])
    if warmup_steps > training_steps:
        warmup_steps = training_steps
    if ls.get('decay_ratio') is not None:
        decay_steps = round(training_steps * ls['decay_ratio'])
        if warmup_steps + decay_steps > training_steps:
            decay_steps = training_steps - warmup_steps
    else:
        decay_steps = training_steps - warmup_steps
    stable_steps = training_steps + 1 - warmup_steps - decay_steps
    lr_decay_type, min_lr_factor = ls['decay_type'], ls['min_lr_factor']

    def linear_warmup_stable_decay(current_step):
        warmup_stable_steps = warmup_steps + stable_steps
        if current_step < warmup_steps:
            current_step += 1
            curr_adjustment = float(current_step / warmup_steps)
        elif current_step < warmup_stable_steps:
            curr_adjustment = 1.0
        else:
            current_step += 1
            progress = float(current_step - warmup_stable_steps) / decay_steps
            if lr_decay_type == 'linear':
                curr_adjustment = 1 - progress
            elif lr_decay_type == 'sqrt':
                curr_adjustment = 1 - math.sqrt(progress)
            elif lr_decay_type == 'cosine':
                curr_adjustment = 0.5 * (1.0 + math.cos(math.pi * progress))
            curr_adjustment = min_lr_factor + (1 - min_lr_factor) * curr_adjustment
        return curr_adjustment

    got = []
    if have_torch:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=base_lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_warmup_stable_decay)
        step = 0
        while step < training_steps:
            step += 1
            got.append(opt.param_groups[0]['lr'])  # optimizers.step() uses this rate
            opt.step()
            sched.step()
    else:
        got = [base_lr * linear_warmup_stable_decay(k) for k in range(training_steps)]
    return got, base_lr


def olmo_core():
    def _linear_warmup(initial_lr, current, warmup, warmup_min_lr=0.0):
        assert 0 <= warmup_min_lr < initial_lr
        return warmup_min_lr + (initial_lr - warmup_min_lr) * min(current, warmup) / warmup

    def _linear_decay(initial_lr, step_from_end, decay, decay_min_lr=0.0):
        assert 0 <= decay_min_lr < initial_lr
        return decay_min_lr + (initial_lr - decay_min_lr) * min(step_from_end, decay) / decay

    class WSD:
        def __init__(self, warmup=None, decay=None, decay_fraction=0.1, warmup_min_lr=0.0,
                     decay_min_lr=0.0, warmup_fraction=None):
            assert (decay is None) != (decay_fraction is None)
            self.warmup, self.decay, self.decay_fraction = warmup, decay, decay_fraction
            self.warmup_min_lr, self.decay_min_lr = warmup_min_lr, decay_min_lr

        def get_lr(self, initial_lr, current, t_max):
            warmup = self.warmup
            if current <= warmup:
                return _linear_warmup(initial_lr, current, warmup, self.warmup_min_lr)
            decay = self.decay if self.decay is not None else round(t_max * self.decay_fraction)
            if current >= t_max - decay:
                return _linear_decay(initial_lr, t_max - current, decay, self.decay_min_lr)
            return initial_lr

    class CosWithWarmup:
        def __init__(self, warmup=None, alpha_f=0.1, t_max=None, warmup_min_lr=0.0):
            self.warmup, self.alpha_f, self.t_max, self.warmup_min_lr = warmup, alpha_f, t_max, warmup_min_lr

        def get_lr(self, initial_lr, current, t_max):
            t_max = t_max if self.t_max is None else self.t_max
            eta_min = initial_lr * self.alpha_f
            warmup = self.warmup
            if current < warmup:
                return _linear_warmup(initial_lr, current, warmup, self.warmup_min_lr)
            elif current >= t_max:
                return eta_min
            else:
                current = current - warmup
                t_max = t_max - warmup
                return eta_min + (initial_lr - eta_min) * (1 + math.cos(math.pi * current / t_max)) / 2

    class LinearWithWarmup:
        def __init__(self, warmup=None, alpha_f=0.1, t_max=None, warmup_min_lr=0.0):
            self.warmup, self.alpha_f, self.t_max, self.warmup_min_lr = warmup, alpha_f, t_max, warmup_min_lr

        def get_lr(self, initial_lr, current, t_max):
            t_max = t_max if self.t_max is None else self.t_max
            eta_min = initial_lr * self.alpha_f
            warmup = self.warmup
            if current < warmup:
                return _linear_warmup(initial_lr, current, warmup, self.warmup_min_lr)
            elif current >= t_max:
                return eta_min
            else:
                current = current - warmup
                t_max = t_max - warmup
                return initial_lr - (initial_lr - eta_min) * (current / t_max)

    class Duration:
        @staticmethod
        def steps(n):
            return ('steps', n)

    # the fragment imports these names from olmo_core: provide the transcriptions
    import types
    mod_s = types.ModuleType('olmo_core.optim.scheduler')
    mod_s.WSD, mod_s.CosWithWarmup, mod_s.LinearWithWarmup = WSD, CosWithWarmup, LinearWithWarmup
    mod_t = types.ModuleType('olmo_core.train')
    mod_t.Duration = Duration
    for name, m in [('olmo_core', types.ModuleType('olmo_core')),
                    ('olmo_core.optim', types.ModuleType('olmo_core.optim')),
                    ('olmo_core.optim.scheduler', mod_s), ('olmo_core.train', mod_t)]:
        sys.modules[name] = m
    ns = {}
    exec(open(cfg).read(), ns)
    sch, lr, (_, max_steps) = ns['scheduler'], ns['lr'], ns['max_duration']
    got, global_step = [], 0
    while True:                       # Trainer._fit_epoch
        global_step += 1              # bookkeeping before the batch
        got.append(sch.get_lr(lr, global_step, max_steps))  # set_lr in optim_step
        if global_step >= max_steps:  # training_complete
            break
    return got, lr


def nanogpt():
    ns = {}
    exec(open(cfg).read(), ns)
    learning_rate, min_lr = ns['learning_rate'], ns['min_lr']
    warmup_iters, lr_decay_iters, max_iters = ns['warmup_iters'], ns['lr_decay_iters'], ns['max_iters']
    assert ns['decay_lr'] is True

    def get_lr(it):
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        if it > lr_decay_iters:
            return min_lr
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return min_lr + coeff * (learning_rate - min_lr)

    got, iter_num = [], 0
    while True:
        got.append(get_lr(iter_num))  # lr set, then forward/backward/step
        iter_num += 1
        if iter_num > max_iters:
            break
    return got, learning_rate


def deepspeed():
    import json
    c = json.load(open(cfg))
    steps = int(re.search(r'run (\d+) steps', c['_schedopt']).group(1))
    groups = [{'lr': c['optimizer']['params']['lr']}]
    sch, p = c['scheduler']['type'], c['scheduler']['params']

    def update_lr(param_groups, lrs):
        for param_group, lr in zip(param_groups, lrs):
            param_group['lr'] = lr
        return [group['lr'] for group in param_groups]

    class WarmupLR:
        def __init__(self, warmup_min_lr=0.0, warmup_max_lr=None, warmup_num_steps=1000,
                     warmup_type='log', last_batch_iteration=-1):
            assert isinstance(warmup_num_steps, int) and warmup_num_steps > 0
            if warmup_max_lr is None:
                warmup_max_lr = groups[0]['lr']
            self.min_lrs, self.max_lrs = [warmup_min_lr], [warmup_max_lr]
            self.delta_lrs = [big - small for big, small in zip(self.max_lrs, self.min_lrs)]
            self.warmup_num_steps = max(2, warmup_num_steps)
            self.warmup_type = warmup_type
            self.inverse_log_warm_up = 1.0 / math.log(self.warmup_num_steps)
            self.last_batch_iteration = last_batch_iteration
            if last_batch_iteration == -1:
                update_lr(groups, self.get_lr())

        def get_lr(self):
            if self.last_batch_iteration < 0:
                return self.min_lrs
            gamma = self._get_gamma()
            return [min_lr + (delta_lr * gamma) for min_lr, delta_lr in zip(self.min_lrs, self.delta_lrs)]

        def step(self):
            self.last_batch_iteration = self.last_batch_iteration + 1
            update_lr(groups, self.get_lr())

        def _get_gamma(self):
            if self.last_batch_iteration < self.warmup_num_steps:
                if self.warmup_type == 'log':
                    return self.inverse_log_warm_up * math.log(self.last_batch_iteration + 1)
                elif self.warmup_type == 'linear':
                    return self.last_batch_iteration / self.warmup_num_steps
            return 1.0

    class WarmupDecayLR(WarmupLR):
        def __init__(self, total_num_steps, **kw):
            self.total_num_steps = total_num_steps
            super().__init__(**kw)

        def _get_gamma(self):
            if self.last_batch_iteration < self.warmup_num_steps:
                if self.warmup_type == 'log':
                    return self.inverse_log_warm_up * math.log(self.last_batch_iteration + 1)
                elif self.warmup_type == 'linear':
                    return self.last_batch_iteration / self.warmup_num_steps
            return max(0.0, float(self.total_num_steps - self.last_batch_iteration) /
                       float(max(1.0, self.total_num_steps - self.warmup_num_steps)))

    class WarmupCosineLR:
        def __init__(self, total_num_steps, warmup_min_ratio=0.0, warmup_num_steps=1000,
                     cos_min_ratio=0.0001, warmup_type='log', last_batch_iteration=-1):
            assert isinstance(warmup_num_steps, int) and warmup_num_steps > 0
            self.total_num_steps = total_num_steps
            self.last_batch_iteration = last_batch_iteration
            self.cos_min_ratio = cos_min_ratio
            self.warmup_type = warmup_type
            self.warmup_min_ratio = warmup_min_ratio
            self.warmup_num_steps = max(2, warmup_num_steps)
            self.inverse_log_warm_up = 1.0 / math.log(self.warmup_num_steps)
            self.org_lrs = [group['lr'] for group in groups]
            if last_batch_iteration == -1:
                update_lr(groups, self.get_lr())

        def get_lr_ratio(self):
            if self.last_batch_iteration < 0:
                return 0.0
            if self.last_batch_iteration < self.warmup_num_steps:
                if self.warmup_type == 'log':
                    ratio = self.inverse_log_warm_up * math.log(self.last_batch_iteration + 1)
                elif self.warmup_type == 'linear':
                    ratio = self.last_batch_iteration / self.warmup_num_steps
                ratio_delta = 1. - self.warmup_min_ratio
                ratio = self.warmup_min_ratio + ratio * ratio_delta
                return ratio
            real_last_step = self.last_batch_iteration - self.warmup_num_steps + 1
            real_total_steps = max(1, self.total_num_steps - self.warmup_num_steps)
            cosine_progress = min(1.0, real_last_step / real_total_steps)
            ratio_delta = 1. - self.cos_min_ratio
            ratio = (1 + math.cos(math.pi * cosine_progress)) / 2
            ratio = max(0.0, self.cos_min_ratio + ratio_delta * ratio)
            return ratio

        def get_lr(self):
            if self.last_batch_iteration < 0:
                return [0.0 for _ in self.org_lrs]
            lr_ratio = self.get_lr_ratio()
            return [org_lr * lr_ratio for org_lr in self.org_lrs]

        def step(self):
            self.last_batch_iteration = self.last_batch_iteration + 1
            update_lr(groups, self.get_lr())

    s = {'WarmupLR': WarmupLR, 'WarmupDecayLR': WarmupDecayLR, 'WarmupCosineLR': WarmupCosineLR}[sch](**p)
    got = []
    for _ in range(steps):
        got.append(groups[0]['lr'])  # the optimizer step
        s.step()                      # then the engine's lr_scheduler.step()
    return got, c['optimizer']['params']['lr']


for i in range(1, len(sys.argv) - 2, 3):
    trainer, cfg, rates_path = sys.argv[i], sys.argv[i + 1], sys.argv[i + 2]
    want = [float(x) for x in open(rates_path).read().split()]
    got, peak = {'megatron': megatron, 'torchtitan': torchtitan, 'olmo_core': olmo_core,
                 'nanogpt': nanogpt, 'deepspeed': deepspeed}[trainer]()
    worst = 0.0 if len(got) == len(want) else float('inf')
    for g, w in zip(got, want):
        worst = max(worst, abs(g - w) / peak)
    print('steps', len(got), 'worst', repr(worst))
print('torch', 'yes' if have_torch else 'no')
