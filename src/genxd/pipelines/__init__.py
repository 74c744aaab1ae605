"""genxd.pipelines"""
