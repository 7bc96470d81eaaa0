"""Quality measurement every stage imports: PSNR/SSIM, LPIPS, tOF/tLP, the scorer, paired clips, the quality gate."""
