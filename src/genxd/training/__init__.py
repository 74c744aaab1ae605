"""genxd.training"""
