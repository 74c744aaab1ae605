"""genxd.models"""
