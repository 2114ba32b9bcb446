print("ddim")
