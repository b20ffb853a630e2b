from .runner import AlternatingTrainLoop

__all__ = ['AlternatingTrainLoop']
