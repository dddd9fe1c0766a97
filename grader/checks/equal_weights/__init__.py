"""Checks of the assignment `equal_weights`: can linear / softmax regression start from equal weights?"""
