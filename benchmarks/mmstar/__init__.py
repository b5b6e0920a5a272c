"""MMStar (Lin-Chen/MMStar): 1,500 vision-indispensable multiple-choice items, six core capabilities."""
