"""genxd.curation"""
