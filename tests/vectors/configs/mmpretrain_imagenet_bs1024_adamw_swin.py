# Source: open-mmlab/mmpretrain, configs/_base_/schedules/imagenet_bs1024_adamw_swin.py
# (commit 14ced91f8cd62d995c39432e7a50ac7e3d86bddc). Excerpt: the optimizer's lr, the learning policy and the
# train loop, verbatim (paramwise_cfg and the val/test/auto_scale_lr settings left out).
optim_wrapper = dict(
    optimizer=dict(
        type='AdamW',
        lr=5e-4 * 1024 / 512,
        weight_decay=0.05,
        eps=1e-8,
        betas=(0.9, 0.999)),
)

# learning policy
param_scheduler = [
    # warm up learning rate scheduler
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        end=20,
        # update by iter
        convert_to_iter_based=True),
    # main learning rate scheduler
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=20)
]

# train, val, test setting
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
