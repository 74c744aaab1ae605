"""genxd.reconstruction"""
