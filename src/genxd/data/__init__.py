"""genxd.data"""
