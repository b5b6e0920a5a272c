"""MMMU-Pro (MMMU/MMMU_Pro): standard 10-option and vision settings; overall = their mean."""
