from .paper_anchor_generator import PaperAnchorGenerator, paper_base_anchors

__all__ = ['PaperAnchorGenerator', 'paper_base_anchors']
