"""PyTorch reference side of kiln: model definitions and a torchsummaryX-compatible summary.

Used only by offline tools (e.g. tools/gen_report_golden.py); requires torch/torchvision.
"""
