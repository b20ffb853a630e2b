from .alternating_train_loop import AlternatingTrainLoop
from .offline_proposals import generate_proposals, proposal_key

__all__ = ['AlternatingTrainLoop', 'generate_proposals', 'proposal_key']
