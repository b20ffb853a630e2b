from .paper_rpn_head import PaperRPNHead

__all__ = ['PaperRPNHead']
